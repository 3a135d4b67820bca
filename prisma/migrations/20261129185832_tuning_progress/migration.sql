-- AlterTable
ALTER TABLE "tunings" ADD COLUMN     "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
ADD COLUMN     "spec" JSONB,
ADD COLUMN     "startedAt" TIMESTAMPTZ(3),
ADD COLUMN     "summary" JSONB;

-- CreateIndex
CREATE INDEX "tunings_experimentId_createdAt_idx" ON "tunings"("experimentId", "createdAt");
