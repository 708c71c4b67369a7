"""The HubSpot backend: the CRM API through hubspot-api-client, with a private app's access token."""
