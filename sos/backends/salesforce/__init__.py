"""The Salesforce backend: Metadata API retrieve to read, one Metadata API deploy to apply."""
