// The Azure Monitor workbook: runs, throughput, lag, errors and Marketo quota, each one query of
// infra/monitoring/ over the app's Application Insights.
param name string
param displayName string
param location string
param tags object
param appInsightsId string

var panels = [
  { title: 'Runs', query: loadTextContent('../monitoring/runs.kql'), visualization: 'barchart' }
  { title: 'Throughput (records written)', query: loadTextContent('../monitoring/throughput.kql'), visualization: 'timechart' }
  { title: 'Lag (seconds)', query: loadTextContent('../monitoring/lag.kql'), visualization: 'timechart' }
  { title: 'Sync errors', query: loadTextContent('../monitoring/errors.kql'), visualization: 'table' }
  { title: 'Marketo quota', query: loadTextContent('../monitoring/quota.kql'), visualization: 'timechart' }
]

var content = {
  version: 'Notebook/1.0'
  items: [
    for (panel, i) in panels: {
      type: 3
      name: 'panel-${i}'
      content: {
        version: 'KqlItem/1.0'
        title: panel.title
        query: panel.query
        size: 0
        timeContext: { durationMs: 86400000 }
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: panel.visualization
      }
    }
  ]
  fallbackResourceIds: [appInsightsId]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: string(content)
  }
}
