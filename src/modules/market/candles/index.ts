export * from './decimal.js';
export { aggregateTrades, TradeAggregator, TradeOrderError, type AggregateOptions, type TradeTick } from './aggregate.js';
export { findGaps, type CandleGap, type GapBounds } from './gaps.js';
export {
  parseCandleCsv,
  formatCsvErrors,
  checkOhlc,
  type CandleCsvFormat,
  type CandleCsvOrder,
  type CandleCsvResult,
  type CsvRowError,
  type ParseCandleCsvOptions,
} from './csv.js';
