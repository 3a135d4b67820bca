import type { ExactCandle } from '../../../platform/candle.js';

/** One entry of Kraken's AssetPairs, reduced to what candlecast uses. */
export interface KrakenAssetPair {
  /** the name Kraken answers under, e.g. "XXBTZUSD" */
  key: string;
  /** e.g. "XBTUSD"; what the client sends */
  altname: string;
  /** e.g. "XBT/USD"; absent on some legacy pairs */
  wsname: string | null;
  base: string;
  quote: string;
  pairDecimals: number;
  lotDecimals: number;
  costDecimals: number | null;
  tickSize: string | null;
  orderMin: string | null;
  status: string | null;
}

export interface KrakenOhlc {
  /** Kraken's key for the pair (the name the answer came under) */
  pair: string;
  intervalMinutes: number;
  /** closed candles only, oldest first */
  candles: ExactCandle[];
  /** result.last: open time of the last committed candle; pass it as `since` to poll */
  last: number;
  /** the still-open candle Kraken always appends, kept out of `candles` (null if none came) */
  openCandle: ExactCandle | null;
}

export interface KrakenTrade {
  /** decimal string as Kraken wrote it */
  price: string;
  /** decimal string as Kraken wrote it */
  volume: string;
  /** Unix seconds, fractional */
  time: number;
  side: 'buy' | 'sell';
  orderType: 'market' | 'limit';
  misc: string;
  /** Kraken's trade id (missing in old answers) */
  id: number | null;
}

export interface KrakenTradesPage {
  pair: string;
  /** oldest first, at most 1000 */
  trades: KrakenTrade[];
  /** nanosecond timestamp as a string: the `since` for the next page */
  last: string;
}

export interface KrakenTicker {
  pair: string;
  ask: { price: string; wholeLotVolume: string; lotVolume: string };
  bid: { price: string; wholeLotVolume: string; lotVolume: string };
  lastTrade: { price: string; volume: string };
  volume: { today: string; last24h: string };
  vwap: { today: string; last24h: string };
  trades: { today: number; last24h: number };
  low: { today: string; last24h: string };
  high: { today: string; last24h: string };
  /** today's opening price (UTC day) */
  open: string;
}

/**
 * Kraken's public market data, as the rest of candlecast sees it. Pair names may be the key,
 * the altname or the wsname (and 'BTC/USD'-style aliases when the implementation resolves
 * names through a PairCatalogue); answers always carry Kraken's key.
 */
export interface KrakenApi {
  assetPairs(): Promise<KrakenAssetPair[]>;
  /** At most the 720 most recent candles of the interval, closed ones only; `since` (Unix seconds) trims that window. */
  ohlc(pair: string, intervalMinutes: number, since?: number): Promise<KrakenOhlc>;
  /** One page of up to 1000 trades after `since` (nanosecond string cursor, or Unix seconds). */
  trades(pair: string, since?: string): Promise<KrakenTradesPage>;
  ticker(pair: string): Promise<KrakenTicker>;
}

export type KrakenEndpoint = 'AssetPairs' | 'OHLC' | 'Trades' | 'Ticker';
