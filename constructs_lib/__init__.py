"""Reusable constructs of the Community Hub. Every provider import of the project lives in this
package, so that a move to another CDK for Terraform distribution is a rename here."""
