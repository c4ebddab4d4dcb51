/** Seeds `npm test` runs; `npm run simulate -- --seeds N` runs more. */
export const DEFAULT_SEEDS = 2_000
