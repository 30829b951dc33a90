export { auditPassport, verifyCache, type AuditResult, type VerifyResult } from './audit';
export { checkpointOf, COLLECTIONS, collectionsOf, ensureIndexes, positionOf, recordOf, type CacheCollections, type Cached, type IndexerState } from './collections';
export { IndexerBusyError, LedgerIndexer, PASSPORT_EVENTS, type LedgerIndexerOptions, type PassportRecord } from './indexer';
export { PassportDirectory, type PassportFilter } from './directory';
export { datasetWithGrants, listDatasets, passportTimeline, type Timeline, type TimelineEntry } from './queries';
export { timelineHtml } from './timeline-html';
