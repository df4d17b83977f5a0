// The Function app on the Flex Consumption plan (Linux, Python 3.11), running as the user-assigned
// identity, with every app setting the code reads (tests/test_infra.py checks the list against
// sync/settings.py both ways). Secrets are Key Vault references, never values; webhook keys too.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageName string
param blobEndpoint string
param tableEndpoint string
param deploymentContainer string
param appInsightsConnectionString string
param keyVaultName string
param hasDataverseSecret bool
param hasWebhookSecret bool
param hasDataverseWebhookKey bool
param maximumInstanceCount int
param dataverse object // url, tenantId, clientId, authority, publisherPrefix, solution
param marketo object // baseUrl, clientId, rateLimitCalls, rateLimitWindowS, maxConcurrency, dailyCallBudget, engagementDailyCalls
param sync object // tablePrefix, mappingFile, callDeadlineS, runBudgetS, bulkThreshold, bulkPollS, durableHub, schedule

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption offers zone redundancy only in some regions; set zoneRedundant: true where yours does
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var kv = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName='
var schedules = {
  SYNC_SCHEDULE_SYSTEMUSER: sync.schedule
  SYNC_SCHEDULE_TEAM: sync.schedule
  SYNC_SCHEDULE_ACCOUNT: sync.schedule
  SYNC_SCHEDULE_PERSON: sync.schedule
  SYNC_SCHEDULE_LEAD: sync.schedule
  SYNC_SCHEDULE_CONTACT: sync.schedule
  SYNC_SCHEDULE_OPPORTUNITY: sync.schedule
  SYNC_SCHEDULE_OPPORTUNITYROLE: sync.schedule
  SYNC_SCHEDULE_CAMPAIGN: sync.schedule
  SYNC_SCHEDULE_CUSTOM: sync.schedule
  SYNC_SCHEDULE_ENGAGEMENT: '0 */30 * * * *' // engagement's own stream: fuller pages, fewer Marketo calls
}
var settings = {
  // the Functions host: storage and telemetry through the identity
  AzureWebJobsStorage__accountName: storageName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
  AZURE_CLIENT_ID: identityClientId // azure-identity: sign in as the user-assigned identity
  // Dataverse
  DATAVERSE_URL: dataverse.url
  DATAVERSE_TENANT_ID: dataverse.tenantId
  DATAVERSE_CLIENT_ID: dataverse.clientId
  DATAVERSE_AUTHORITY: dataverse.authority
  DATAVERSE_PUBLISHER_PREFIX: dataverse.publisherPrefix
  DATAVERSE_SOLUTION: dataverse.solution
  // Marketo
  MARKETO_BASE_URL: marketo.baseUrl
  MARKETO_CLIENT_ID: marketo.clientId
  MARKETO_CLIENT_SECRET: '${kv}marketo-client-secret)'
  MARKETO_RATE_LIMIT_CALLS: string(marketo.rateLimitCalls)
  MARKETO_RATE_LIMIT_WINDOW_S: string(marketo.rateLimitWindowS)
  MARKETO_MAX_CONCURRENCY: string(marketo.maxConcurrency)
  MARKETO_DAILY_CALL_BUDGET: string(marketo.dailyCallBudget)
  SYNC_ENGAGEMENT_DAILY_CALLS: marketo.engagementDailyCalls == 0 ? '' : string(marketo.engagementDailyCalls)
  MARKETO_SHARED_LIMITS: 'true' // instances share Marketo's per-subscription limits
  // the sync
  SYNC_STORAGE_CONNECTION: tableEndpoint
  SYNC_TABLE_PREFIX: sync.tablePrefix
  SYNC_MAPPING_FILE: sync.mappingFile
  SYNC_CA_FILE: '' // public CAs only in Azure
  SYNC_CALL_DEADLINE_S: string(sync.callDeadlineS)
  SYNC_RUN_BUDGET_S: string(sync.runBudgetS)
  SYNC_BULK_THRESHOLD: string(sync.bulkThreshold)
  SYNC_BULK_POLL_S: string(sync.bulkPollS)
  SYNC_DURABLE_HUB: sync.durableHub
  SYNC_CHANGE_QUEUE: 'sync-changes' // the queue trigger's %SYNC_CHANGE_QUEUE%; poison: sync-changes-poison
}
var dataverseSecret = hasDataverseSecret ? { DATAVERSE_CLIENT_SECRET: '${kv}dataverse-client-secret)' } : {}
var webhookSecret = hasWebhookSecret ? { SYNC_WEBHOOK_SECRET: '${kv}sync-webhook-secret)' } : {}
var dataverseWebhookKey = hasDataverseWebhookKey ? { SYNC_DATAVERSE_WEBHOOK_KEY: '${kv}sync-dataverse-webhook-key)' } : {}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Marketo's webhooks call the app from Marketo's servers; admin routes need a function key, webhooks a shared secret
  // checkov:skip=CKV_AZURE_17: Marketo webhooks cannot present client certificates
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design and every timer wakes it each minute; always-ready instances are a cost choice
  // checkov:skip=CKV_AZURE_213: no HTTP health endpoint on a Functions app; the platform monitors the host, the alerts watch the runs
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: maximumInstanceCount, instanceMemoryMB: 2048 }
      runtime: { name: 'python', version: '3.11' }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_63: this resource is the app settings list, not a web app's site config; HTTP logging is an App Service web feature, and the app logs to Application Insights
  // checkov:skip=CKV_AZURE_65: this resource is the app settings list, not a web app's site config; detailed error pages is an App Service web feature, and the app logs to Application Insights
  // checkov:skip=CKV_AZURE_66: this resource is the app settings list, not a web app's site config; failed request tracing is an App Service web feature, and the app logs to Application Insights
  // checkov:skip=CKV_AZURE_222: as on the site: Marketo's webhooks need the public endpoint
  // checkov:skip=CKV_AZURE_80: no .NET: a Python app
  // checkov:skip=CKV_AZURE_13: App Service Authentication would refuse Marketo's webhooks; admin routes need a function key and webhooks a shared secret compared in constant time
  // checkov:skip=CKV_AZURE_88: Flex Consumption deploys from a blob container, not Azure Files
  parent: app
  name: 'appsettings'
  properties: union(settings, schedules, dataverseSecret, webhookSecret, dataverseWebhookKey)
}

output id string = app.id
output name string = app.name
output hostName string = app.properties.defaultHostName
