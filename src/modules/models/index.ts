/** Public API of the models module: pure zoo, validation, tuning, training and prediction; worker runner. */
export { ALGORITHMS, algorithmSchema, createModel, isAlgorithm, loadModel, parseModelParams, zoo, zooEntry } from './zoo.js';
export type { Algorithm } from './zoo.js';
export type { Model, ModelContext, ParamGrid, SerializedModel, ZooEntry } from './model.js';
export { DEFAULT_SUITE } from './default-suite.js';
export type { SuiteEntry } from './default-suite.js';
export { directionalAccuracy, errorMetrics, evaluateNaive, evaluatePoints } from './metrics.js';
export type { ErrorMetrics, EvalMetrics, ScoredPoints } from './metrics.js';
export { intervalCoverage, predictionInterval, priceFromReturn, quantileSorted, residualQuantiles } from './intervals.js';
export type { PredictionInterval, ResidualQuantiles } from './intervals.js';
export { chronologicalSplit, resolveWalkForward, walkForwardFolds, walkForwardSchema } from './walk-forward.js';
export type { Fold, Range, ResolvedWalkForward, WalkForwardConfig } from './walk-forward.js';
export { searchSchema, trainSpecSchema, tuneSpecSchema, validationSchema } from './models.schemas.js';
export type { TrainSpec, TrainSpecInput, TuneSpec, TuneSpecInput, ValidationConfig, ValidationConfigInput } from './models.schemas.js';
export { fitPipeline, loadPipeline, PIPELINE_FORMAT, predictRows, requiredHistory } from './pipeline.js';
export type { FittedPipeline, LoadedPipeline, PipelineSpec, PredictivePipeline, SerializedPipeline } from './pipeline.js';
export { fingerprintCandles, MIN_TRAIN_ROWS, parseTrainSpec, prepareData, runWalkForward, trainModel } from './training.js';
export type { FoldResult, OosPoints, PreparedData, SideBySide, TrainInput, TrainResult, WalkForwardResult } from './training.js';
export { predictNext, predictSeries } from './prediction.js';
export type { BacktestPoint, Prediction, PredictInput } from './prediction.js';
export { gridCandidates, tuneModel } from './tuning.js';
export type { Trial, TuneInput, TuneResult } from './tuning.js';
export type { ProgressEvent, RunHooks } from './progress.js';
export { runTask } from './tasks.js';
export type { SuiteInput, WorkerTask, WorkerTaskResult } from './tasks.js';
export { createWorkerPool, runInWorker } from './worker-pool.js';
export type { RunInWorkerOptions, WorkerPool } from './worker-pool.js';
export { createRng } from '../../platform/rng.js';
export {
  bandScores,
  blockBootstrap,
  blockBootstrapIndices,
  coverage,
  dieboldMariano,
  directionWithInterval,
  mae,
  mase,
  meanWidth,
  naiveInSampleMae,
  normalQuantile,
  pinballLoss,
  regularizedIncompleteBeta,
  rmse,
  scorecard,
  skillWithInterval,
  studentTCdf,
  wilsonInterval,
  winklerScore,
} from './scorecard.js';
export type { Bands, BandScores, BootstrapInterval, BootstrapOptions, DmAlternative, DmResult, ForecasterScores, ProportionInterval, Scorecard, ScorecardInput } from './scorecard.js';
