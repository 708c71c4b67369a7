"""The HubSpot backend: the CRM API through hubspot-api-client, with an app's static access token."""
