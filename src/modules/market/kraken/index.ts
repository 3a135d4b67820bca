export {
  KrakenHttpClient,
  createKrakenHttpClient,
  DEFAULT_KRAKEN_API_URL,
  KRAKEN_OHLC_INTERVALS,
  type KrakenHttpClientOptions,
  type KrakenClientEvent,
  type KrakenLogger,
} from './kraken.client.js';
export { KrakenError, classifyKrakenErrors, isRetryableKind, type KrakenErrorKind } from './kraken.errors.js';
export type { KrakenApi, KrakenAssetPair, KrakenEndpoint, KrakenOhlc, KrakenTicker, KrakenTrade, KrakenTradesPage } from './kraken.types.js';
export { PairCatalogue, normalizePairName } from './pair-catalogue.js';
export { Pacer, realSleep, type PacerOptions, type Sleep } from './pacer.js';
export {
  pageTrades,
  candlesFromTrades,
  type PageTradesOptions,
  type TradesPageInfo,
  type CandlesFromTradesOptions,
  type CandlesFromTradesResult,
} from './trades-backfill.js';
