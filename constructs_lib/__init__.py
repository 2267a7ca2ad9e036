"""Reusable constructs of the Community Hub. Every provider import of the project lives in this
package, so that a move to another CDK for Terraform distribution is a rename here."""

from constructs_lib import _bindings  # noqa: F401  - must run before any provider import
