"""HUB_CF_2: Cloudflare verifies the origin's certificate (SSL mode "Full (strict)").

The zone's `ssl` setting is one place that decides it; a configuration rule (a `cloudflare_ruleset`
in phase http_config_settings with action set_config) is the other: its `ssl` overrides the zone's
mode for the requests it matches, so a rule lowering it is judged like the setting.
"""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks import _rules
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    import _rules

DYNAMIC_ORIGIN, ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity = (
    _rules.DYNAMIC_ORIGIN, _rules.ZONE_SETTING_TYPES, _rules.CheckResult, _rules.HubResourceCheck, _rules.Severity)
blocks, is_reference, literal_bool, value, zone_setting_values = (
    _rules.blocks, _rules.is_reference, _rules.literal_bool, _rules.value, _rules.zone_setting_values)

# The API's values are off, flexible, full and strict; only strict checks the origin certificate.
REQUIRED_MODE = "strict"
CONFIG_PHASE, CONFIG_ACTION = "http_config_settings", "set_config"


class CloudflareSslStrict(HubResourceCheck):
    hub_severity = Severity.HIGH
    hub_fix = (
        "Set the zone's ssl setting to \"strict\" and serve a Cloudflare Origin CA certificate at the origin; "
        "let no configuration rule (phase http_config_settings) set ssl to anything else."
    )

    def __init__(self) -> None:
        super().__init__(
            name="Cloudflare zone SSL mode is strict",
            id="HUB_CF_2",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=[*ZONE_SETTING_TYPES, "cloudflare_ruleset"],
        )

    def scan_resource_conf(self, conf):
        if self.entity_type == "cloudflare_ruleset":
            self.evaluated_keys = ["phase", "rules"]
            self._judge_config_rules(conf)
        else:
            self.evaluated_keys = ["setting_id", "value", "settings"]
            for mode, where in zone_setting_values(conf, self.entity_type, "ssl"):
                if mode != REQUIRED_MODE:
                    self.fail(f"ssl is {mode!r}{where}, not {REQUIRED_MODE!r}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED

    def _judge_config_rules(self, conf) -> None:
        phase = value(conf, "phase")
        if phase != CONFIG_PHASE and not is_reference(phase):
            return  # another phase (headers, WAF, ...) cannot change the SSL mode
        if is_reference(value(conf, "rules")):  # v5 takes the rules as an attribute, so an expression is valid
            self.fail(f"rules is {value(conf, 'rules')!r}, so whether a rule lowers ssl cannot be told")
        for index, rule in enumerate(blocks(conf, "rules")):
            action = value(rule, "action")
            # A rule Terraform may turn off counts until it is off; null is unset, and the default is on.
            if (action != CONFIG_ACTION and not is_reference(action)) or literal_bool(value(rule, "enabled")) is False:
                continue
            label = f"{rule[DYNAMIC_ORIGIN]}.content" if DYNAMIC_ORIGIN in rule else f"rules[{index}]"
            if is_reference(value(rule, "action_parameters")):
                self.fail(f"{label}.action_parameters is an expression, so the ssl it sets cannot be told")
            for parameters in blocks(rule, "action_parameters"):
                mode = value(parameters, "ssl", REQUIRED_MODE)
                if mode != REQUIRED_MODE:
                    self.fail(f"{label} sets ssl to {mode!r} for the requests it matches, not {REQUIRED_MODE!r}")


check = CloudflareSslStrict()
