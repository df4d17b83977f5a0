// The app's one identity: it signs in to Storage, Key Vault, Application Insights and (as an
// application user) Dataverse. User-assigned, so it exists before the app and survives it.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
