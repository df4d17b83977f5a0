// Key Vault (RBAC authorization) holding the Dataverse and Marketo secrets and the webhook secret;
// the app reads them as Key Vault references, so no secret is ever an app setting's value.
param name string
param location string
param tags object
@secure()
param secrets object // secret name -> value (only those configured)
param secretsExpireOn int // Unix time: rotate before, the alert in docs/setup.md says how

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: the app has no VNet in this template and resolves Key Vault references over the public endpoint; access is Entra ID RBAC only (Key Vault Secrets User for the app's identity). Add VNet integration and a private endpoint to close it
  // checkov:skip=CKV_AZURE_189: public network access stays on for Key Vault references from an app without a VNet; RBAC only
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { bypass: 'AzureServices', defaultAction: 'Allow' }
  }
}

resource stored 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for secret in items(secrets): {
    parent: vault
    name: secret.key
    properties: {
      value: secret.value
      contentType: 'text/plain'
      attributes: { enabled: true, exp: secretsExpireOn }
    }
  }
]

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
