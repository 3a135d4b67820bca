-- CreateEnum
CREATE TYPE "Role" AS ENUM ('user', 'admin');

-- CreateEnum
CREATE TYPE "ApiKeyScope" AS ENUM ('read', 'write');

-- CreateEnum
CREATE TYPE "CandleSource" AS ENUM ('kraken', 'trades', 'import', 'bundled');

-- CreateTable
CREATE TABLE "users" (
    "id" SERIAL NOT NULL,
    "username" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'user',
    "tokenVersion" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "lastLoginAt" TIMESTAMPTZ(3),

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "userId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "scope" "ApiKeyScope" NOT NULL DEFAULT 'read',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "lastUsedIp" TEXT,
    "expiresAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorId" INTEGER,
    "actorUsername" TEXT,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "ip" TEXT,
    "requestId" TEXT,
    "success" BOOLEAN NOT NULL DEFAULT true,
    "details" JSONB,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "login_throttle" (
    "key" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "lockouts" INTEGER NOT NULL DEFAULT 0,
    "lockedUntil" TIMESTAMPTZ(3),
    "lastFailureAt" TIMESTAMPTZ(3),

    CONSTRAINT "login_throttle_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "access_blocks" (
    "id" SERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "until" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "access_blocks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user_preferences" (
    "userId" INTEGER NOT NULL,
    "defaultPair" TEXT,
    "defaultInterval" INTEGER,
    "timeZone" TEXT NOT NULL DEFAULT 'UTC',
    "watchlist" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_preferences_pkey" PRIMARY KEY ("userId")
);

-- CreateTable
CREATE TABLE "app_settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "app_settings_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "pairs" (
    "id" SERIAL NOT NULL,
    "exchange" TEXT NOT NULL DEFAULT 'kraken',
    "key" TEXT NOT NULL,
    "altname" TEXT NOT NULL,
    "wsname" TEXT,
    "base" TEXT NOT NULL,
    "quote" TEXT NOT NULL,
    "pairDecimals" INTEGER NOT NULL DEFAULT 8,
    "lotDecimals" INTEGER NOT NULL DEFAULT 8,
    "status" TEXT NOT NULL DEFAULT 'online',
    "tracked" BOOLEAN NOT NULL DEFAULT true,
    "intervals" INTEGER[] DEFAULT ARRAY[60, 1440]::INTEGER[],
    "addedById" INTEGER,
    "addedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "untrackedAt" TIMESTAMPTZ(3),

    CONSTRAINT "pairs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "candles" (
    "pairId" INTEGER NOT NULL,
    "interval" INTEGER NOT NULL,
    "time" TIMESTAMPTZ(0) NOT NULL,
    "open" DECIMAL NOT NULL,
    "high" DECIMAL NOT NULL,
    "low" DECIMAL NOT NULL,
    "close" DECIMAL NOT NULL,
    "volume" DECIMAL NOT NULL,
    "trades" INTEGER NOT NULL DEFAULT 0,
    "vwap" DECIMAL,
    "source" "CandleSource" NOT NULL,
    "anomaly" BOOLEAN NOT NULL DEFAULT false,
    "anomalyReason" TEXT,
    "insertedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "candles_pkey" PRIMARY KEY ("pairId","interval","time")
);

-- CreateTable
CREATE TABLE "ingest_runs" (
    "id" SERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "pairId" INTEGER,
    "interval" INTEGER,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),
    "status" TEXT NOT NULL DEFAULT 'running',
    "candlesAdded" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "details" JSONB,
    "jobRunId" INTEGER,

    CONSTRAINT "ingest_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "backfills" (
    "id" SERIAL NOT NULL,
    "pairId" INTEGER NOT NULL,
    "interval" INTEGER NOT NULL,
    "fromTime" TIMESTAMPTZ(0) NOT NULL,
    "toTime" TIMESTAMPTZ(0) NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "cursor" TEXT,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "candlesAdded" INTEGER NOT NULL DEFAULT 0,
    "estimatedCalls" INTEGER,
    "error" TEXT,
    "createdById" INTEGER,
    "jobRunId" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "backfills_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "experiments" (
    "id" SERIAL NOT NULL,
    "pairId" INTEGER NOT NULL,
    "interval" INTEGER NOT NULL,
    "target" TEXT NOT NULL DEFAULT 'log_return',
    "features" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "experiments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "model_runs" (
    "id" SERIAL NOT NULL,
    "experimentId" INTEGER NOT NULL,
    "algorithm" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "kind" TEXT NOT NULL DEFAULT 'train',
    "tuningId" INTEGER,
    "dataFrom" TIMESTAMPTZ(0),
    "dataTo" TIMESTAMPTZ(0),
    "dataRows" INTEGER,
    "fingerprint" TEXT,
    "codeVersion" TEXT,
    "metrics" JSONB,
    "featureSet" JSONB,
    "featureRanking" JSONB,
    "residuals" JSONB,
    "artifact" JSONB,
    "durationMs" INTEGER,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "error" TEXT,
    "isBest" BOOLEAN NOT NULL DEFAULT false,
    "promotedById" INTEGER,
    "promotedAt" TIMESTAMPTZ(3),
    "jobRunId" INTEGER,
    "createdById" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),
    "testMae" DOUBLE PRECISION,
    "testMse" DOUBLE PRECISION,

    CONSTRAINT "model_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tunings" (
    "id" SERIAL NOT NULL,
    "experimentId" INTEGER NOT NULL,
    "algorithm" TEXT NOT NULL,
    "method" TEXT NOT NULL DEFAULT 'grid',
    "budget" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "bestRunId" INTEGER,
    "error" TEXT,
    "jobRunId" INTEGER,
    "createdById" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "tunings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "predictions" (
    "id" BIGSERIAL NOT NULL,
    "pairId" INTEGER NOT NULL,
    "interval" INTEGER NOT NULL,
    "modelRunId" INTEGER,
    "algorithm" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'live',
    "madeAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "baseTime" TIMESTAMPTZ(0) NOT NULL,
    "baseClose" DOUBLE PRECISION NOT NULL,
    "targetTime" TIMESTAMPTZ(0) NOT NULL,
    "predictedReturn" DOUBLE PRECISION NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "lower80" DOUBLE PRECISION NOT NULL,
    "upper80" DOUBLE PRECISION NOT NULL,
    "lower95" DOUBLE PRECISION NOT NULL,
    "upper95" DOUBLE PRECISION NOT NULL,
    "naiveValue" DOUBLE PRECISION NOT NULL,
    "actual" DOUBLE PRECISION,
    "error" DOUBLE PRECISION,
    "absError" DOUBLE PRECISION,
    "naiveAbsError" DOUBLE PRECISION,
    "scoredAt" TIMESTAMPTZ(3),

    CONSTRAINT "predictions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_runs" (
    "id" SERIAL NOT NULL,
    "job" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "params" JSONB,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "queuedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "durationMs" INTEGER,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "progressMessage" TEXT,
    "error" TEXT,
    "result" JSONB,
    "startedById" INTEGER,
    "instanceId" TEXT,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "scheduledFor" TIMESTAMPTZ(0),
    "heartbeatAt" TIMESTAMPTZ(3),

    CONSTRAINT "job_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_state" (
    "job" TEXT NOT NULL,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedBy" INTEGER,

    CONSTRAINT "job_state_pkey" PRIMARY KEY ("job")
);

-- CreateTable
CREATE TABLE "alert_rules" (
    "id" SERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "pairId" INTEGER,
    "interval" INTEGER,
    "threshold" DOUBLE PRECISION,
    "windowMinutes" INTEGER,
    "cooldownSeconds" INTEGER NOT NULL DEFAULT 3600,
    "channels" TEXT[] DEFAULT ARRAY['inbox']::TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "lastFiredAt" TIMESTAMPTZ(3),
    "lastEvaluatedAt" TIMESTAMPTZ(3),
    "note" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "alert_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notifications" (
    "id" BIGSERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "ruleId" INTEGER,
    "eventKey" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "data" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "readAt" TIMESTAMPTZ(3),

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_endpoints" (
    "id" SERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "url" TEXT NOT NULL,
    "secretEnc" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "disabledAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deliveries" (
    "id" BIGSERIAL NOT NULL,
    "notificationId" BIGINT NOT NULL,
    "channel" TEXT NOT NULL,
    "endpointId" INTEGER,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastStatusCode" INTEGER,
    "lastError" TEXT,
    "nextAttemptAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMPTZ(3),

    CONSTRAINT "deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");

-- CreateIndex
CREATE INDEX "api_keys_userId_idx" ON "api_keys"("userId");

-- CreateIndex
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at");

-- CreateIndex
CREATE INDEX "audit_log_action_at_idx" ON "audit_log"("action", "at");

-- CreateIndex
CREATE INDEX "audit_log_actorId_at_idx" ON "audit_log"("actorId", "at");

-- CreateIndex
CREATE INDEX "access_blocks_kind_value_until_idx" ON "access_blocks"("kind", "value", "until");

-- CreateIndex
CREATE UNIQUE INDEX "pairs_key_key" ON "pairs"("key");

-- CreateIndex
CREATE UNIQUE INDEX "pairs_altname_key" ON "pairs"("altname");

-- CreateIndex
CREATE INDEX "ingest_runs_startedAt_idx" ON "ingest_runs"("startedAt");

-- CreateIndex
CREATE INDEX "ingest_runs_pairId_interval_startedAt_idx" ON "ingest_runs"("pairId", "interval", "startedAt");

-- CreateIndex
CREATE INDEX "backfills_pairId_interval_status_idx" ON "backfills"("pairId", "interval", "status");

-- CreateIndex
CREATE UNIQUE INDEX "experiments_pairId_interval_target_key" ON "experiments"("pairId", "interval", "target");

-- CreateIndex
CREATE INDEX "model_runs_experimentId_status_testMse_idx" ON "model_runs"("experimentId", "status", "testMse");

-- CreateIndex
CREATE INDEX "model_runs_experimentId_isBest_idx" ON "model_runs"("experimentId", "isBest");

-- CreateIndex
CREATE INDEX "predictions_pairId_interval_kind_targetTime_idx" ON "predictions"("pairId", "interval", "kind", "targetTime");

-- CreateIndex
CREATE INDEX "predictions_scoredAt_targetTime_idx" ON "predictions"("scoredAt", "targetTime");

-- CreateIndex
CREATE UNIQUE INDEX "predictions_pairId_interval_kind_algorithm_modelRunId_targe_key" ON "predictions"("pairId", "interval", "kind", "algorithm", "modelRunId", "targetTime");

-- CreateIndex
CREATE INDEX "job_runs_job_queuedAt_idx" ON "job_runs"("job", "queuedAt");

-- CreateIndex
CREATE INDEX "job_runs_status_idx" ON "job_runs"("status");

-- CreateIndex
CREATE UNIQUE INDEX "job_runs_job_scheduledFor_key" ON "job_runs"("job", "scheduledFor");

-- CreateIndex
CREATE INDEX "alert_rules_userId_idx" ON "alert_rules"("userId");

-- CreateIndex
CREATE INDEX "alert_rules_pairId_kind_idx" ON "alert_rules"("pairId", "kind");

-- CreateIndex
CREATE INDEX "notifications_userId_readAt_createdAt_idx" ON "notifications"("userId", "readAt", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "notifications_userId_eventKey_key" ON "notifications"("userId", "eventKey");

-- CreateIndex
CREATE INDEX "webhook_endpoints_userId_idx" ON "webhook_endpoints"("userId");

-- CreateIndex
CREATE INDEX "deliveries_status_nextAttemptAt_idx" ON "deliveries"("status", "nextAttemptAt");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_preferences" ADD CONSTRAINT "user_preferences_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "candles" ADD CONSTRAINT "candles_pairId_fkey" FOREIGN KEY ("pairId") REFERENCES "pairs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backfills" ADD CONSTRAINT "backfills_pairId_fkey" FOREIGN KEY ("pairId") REFERENCES "pairs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "experiments" ADD CONSTRAINT "experiments_pairId_fkey" FOREIGN KEY ("pairId") REFERENCES "pairs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_runs" ADD CONSTRAINT "model_runs_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_runs" ADD CONSTRAINT "model_runs_tuningId_fkey" FOREIGN KEY ("tuningId") REFERENCES "tunings"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tunings" ADD CONSTRAINT "tunings_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "experiments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_pairId_fkey" FOREIGN KEY ("pairId") REFERENCES "pairs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_modelRunId_fkey" FOREIGN KEY ("modelRunId") REFERENCES "model_runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_rules" ADD CONSTRAINT "alert_rules_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "alert_rules"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_notificationId_fkey" FOREIGN KEY ("notificationId") REFERENCES "notifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_endpointId_fkey" FOREIGN KEY ("endpointId") REFERENCES "webhook_endpoints"("id") ON DELETE SET NULL ON UPDATE CASCADE;
