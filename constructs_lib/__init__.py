"""Reusable constructs of the Community Hub. Every provider import of the project lives in this
package, so that a move to another CDK for Terraform distribution is a rename here.

The plain-data modules (service_graph, security_headers, thresholds, tags) import nothing from
cdktf, so the policy gate can share them without starting jsii. Modules that use provider
bindings import `constructs_lib._bindings` first.
"""
