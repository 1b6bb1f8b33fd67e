"""The dashboard's pushed screens: help, text (describe/YAML/output), confirm, fault menu."""
