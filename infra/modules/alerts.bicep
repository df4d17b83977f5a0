// Alert rules on the app's telemetry (queries in infra/monitoring/), mailing the admins' group:
// failed runs, lag above a threshold, parked sync errors, Marketo's quota above 90 %.
param namePrefix string
param location string
param tags object
param appInsightsId string
param alertEmail string
param lagThresholdSeconds int

resource admins 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-admins'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'syncadmins'
    enabled: true
    emailReceivers: [{ name: 'admins', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var rules = [
  {
    name: 'failed-runs'
    description: 'A sync run failed (auth/config, quota or outage): the status page says why.'
    severity: 1
    query: loadTextContent('../monitoring/alert-failed-runs.kql')
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'lag'
    description: 'Changes waited longer than ${lagThresholdSeconds} s before reaching the other side.'
    severity: 2
    query: replace(loadTextContent('../monitoring/alert-lag.kql'), '{threshold}', string(lagThresholdSeconds))
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'parked-errors'
    description: 'Records were parked after every retry: fix them, then retry (python -m sync errors --retry).'
    severity: 3
    query: loadTextContent('../monitoring/alert-parked-errors.kql')
    frequency: 'PT15M'
    window: 'PT30M'
  }
  {
    name: 'marketo-quota'
    description: 'Marketo API calls today are above 90 % of the sync daily budget.'
    severity: 2
    query: loadTextContent('../monitoring/alert-quota.kql')
    frequency: 'PT15M'
    window: 'PT1H'
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: '${namePrefix}: ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [appInsightsId]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      autoMitigate: true
      actions: { actionGroups: [admins.id] }
    }
  }
]
