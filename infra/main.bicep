// Dynamics 365 ⇄ Marketo sync: everything it runs on, in one resource group (`azd up`).
// Local modules only (readable offline); each says why it is shaped the way it is.
targetScope = 'resourceGroup'

@description('Short name of this environment (azd sets it): names every resource.')
@minLength(2)
@maxLength(16)
param environmentName string

@description('Region of every resource; Flex Consumption must be available there.')
param location string = resourceGroup().location

@description('Dataverse environment URL, e.g. https://contoso.crm.dynamics.com')
param dataverseUrl string

@description('Entra ID tenant of the Dataverse org.')
param dataverseTenantId string = subscription().tenantId

@description('Client id of the app registration Dataverse knows as the application user; empty: the managed identity is the application user.')
param dataverseClientId string = ''

@secure()
@description('Secret of that app registration; empty when the managed identity signs in.')
param dataverseClientSecret string = ''

@description('Marketo REST base URL, e.g. https://123-ABC-456.mktorest.com')
param marketoBaseUrl string

@description('Client id of the Marketo LaunchPoint custom service.')
param marketoClientId string

@secure()
@description('Client secret of the Marketo LaunchPoint custom service.')
param marketoClientSecret string

@secure()
@description('Shared secret Marketo webhooks send in X-Sync-Secret; empty: webhooks answer 503.')
param webhookSecret string = ''

@secure()
@description('Key Dataverse\'s webhook sends in x-sync-key (setup-webhooks registers it); empty: the Dataverse change route answers 503.')
param dataverseWebhookKey string = ''

@description('Marketo calls per day this sync may use (the subscription has 50,000 for everything).')
param marketoDailyCallBudget int = 40000

@description('Of that budget, the calls a day engagement\'s own stream may use (0: a tenth).')
param engagementDailyCalls int = 0

@description('Customization prefix of the publisher of the solution `setup` adds engagement\'s columns to.')
param dataversePublisherPrefix string = 'mkto'

@description('Unique name of that solution; empty: the default solution.')
param dataverseSolution string = ''

@description('Who gets the alerts.')
param alertEmail string

@description('Lag alert: changes waiting longer than this many seconds.')
param lagThresholdSeconds int = 600

@description('NCRONTAB schedule of every object\'s incremental run (UTC).')
param schedule string = '0 */1 * * * *'

@description('Secrets in Key Vault expire at this Unix time; rotate them before (docs/setup.md).')
param secretsExpireOn int = dateTimeToEpoch(dateTimeAdd(utcNow(), 'P1Y'))

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var prefix = 'sync-${environmentName}'
var tags = { 'azd-env-name': environmentName, product: 'dynamics-marketo-sync' }
var deploymentContainer = 'app-package'
var requiredSecrets = { 'marketo-client-secret': marketoClientSecret }
var dataverseSecret = empty(dataverseClientSecret) ? {} : { 'dataverse-client-secret': dataverseClientSecret }
var webhookSecretStored = empty(webhookSecret) ? {} : { 'sync-webhook-secret': webhookSecret }
var dataverseWebhookKeyStored = empty(dataverseWebhookKey) ? {} : { 'sync-dataverse-webhook-key': dataverseWebhookKey }

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: { name: 'id-${prefix}', location: location, tags: tags }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: { name: 'st${token}', location: location, tags: tags, deploymentContainer: deploymentContainer }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { logAnalyticsName: 'log-${prefix}', appInsightsName: 'appi-${prefix}', location: location, tags: tags }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: 'kv-${take(token, 18)}'
    location: location
    tags: tags
    secretsExpireOn: secretsExpireOn
    secrets: union(requiredSecrets, dataverseSecret, webhookSecretStored, dataverseWebhookKeyStored)
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    storageName: storage.outputs.name
    appInsightsName: 'appi-${prefix}'
    keyVaultName: vault.outputs.name
  }
  dependsOn: [monitoring]
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: 'func-${prefix}-${take(token, 6)}'
    planName: 'plan-${prefix}'
    location: location
    tags: union(tags, { 'azd-service-name': 'sync' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainer: deploymentContainer
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    keyVaultName: vault.outputs.name
    hasDataverseSecret: !empty(dataverseClientSecret)
    hasWebhookSecret: !empty(webhookSecret)
    hasDataverseWebhookKey: !empty(dataverseWebhookKey)
    maximumInstanceCount: 40
    dataverse: {
      url: dataverseUrl
      tenantId: dataverseTenantId
      clientId: empty(dataverseClientId) ? identity.outputs.clientId : dataverseClientId
      authority: 'https://login.microsoftonline.com'
      publisherPrefix: dataversePublisherPrefix
      solution: dataverseSolution
    }
    marketo: {
      baseUrl: marketoBaseUrl
      clientId: marketoClientId
      rateLimitCalls: 100
      rateLimitWindowS: 20
      maxConcurrency: 10
      dailyCallBudget: marketoDailyCallBudget
      engagementDailyCalls: engagementDailyCalls
    }
    sync: {
      tablePrefix: 'sync'
      mappingFile: ''
      callDeadlineS: 240
      runBudgetS: 240
      bulkThreshold: 250000
      bulkPollS: 30
      durableHub: 'DynamicsMarketoSync'
      schedule: schedule
    }
  }
  dependsOn: [roles]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: prefix
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.appInsightsId
    alertEmail: alertEmail
    lagThresholdSeconds: lagThresholdSeconds
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    name: guid(resourceGroup().id, prefix, 'workbook')
    displayName: 'Dynamics ⇄ Marketo sync (${environmentName})'
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.appInsightsId
  }
}

output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output SYNC_STATUS_URL string = 'https://${app.outputs.hostName}/api/sync/dashboard'
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
