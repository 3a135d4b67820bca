/** Public API of the features module: pure candles -> feature matrix code, no I/O. */
export { cleanCandles, findGaps, isValidCandle, assertSortedUnique } from './clean.js';
export type { CandleGap, CleanReport, CleanResult } from './clean.js';
export { resampleCandles } from './resample.js';
export type { ResampledCandle, ResampleOptions } from './resample.js';
export { ema, lag, logChange, logReturns, rollingMean, rollingStd, rollingZScore, rsi } from './indicators.js';
export { buildFeatures, featureIndex, featureNames, gatherRows, trainableRows, warmupCandles } from './features.js';
export type { FeatureFrame } from './features.js';
export { featureConfigSchema, featureSelectionSchema, parseFeatureConfig } from './features.schemas.js';
export type { FeatureConfig, FeatureConfigInput, FeatureSelectionConfig } from './features.schemas.js';
export { applyStandardScaler, fitStandardScaler } from './scaler.js';
export type { StandardScalerState } from './scaler.js';
export { pearson, rankByCorrelation, rankByPermutation, selectFeatures } from './selection.js';
export type { FeatureRank, FitPredict, PermutationOptions } from './selection.js';
export { describeFeatures } from './summary.js';
export type { FeatureSummary } from './summary.js';
export { loadDanfo } from './danfo.js';
