#!/bin/sh
echo "candlecast: the native Prisma schema engine is not installed; use npm run db:deploy / db:migrate:create" >&2
exit 1
