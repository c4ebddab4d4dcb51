/**
 * The soak's flatness rule, as a pure function of samples. A series is judged in segments:
 * stretches in which nothing but time should change it (one life of a process in one role,
 * or one host's database over the whole run). A segment's first third is its warm-up (the
 * JIT, LevelDB reaching its levels, caches filling) and is not judged; it stayed flat if the
 * median of its last third is at most the median of its middle third times (1 + relative),
 * plus absolute. Medians, not means or extremes, so that a compaction or a burst caught by
 * one sample moves nothing; thirds of the segment's own span, so that a process restarted
 * late is judged on its own warm-up, not on the run's; long enough segments only, so that
 * a warm-up is never judged as growth.
 */

/** One stretch of a series to judge: points are [seconds since the run began, value]. */
export interface Segment {
  /** Says which series and which stretch of it, for people: `h1/p0 #2 leader`. */
  readonly label: string
  readonly points: ReadonlyArray<readonly [number, number]>
  /**
   * Whether it began with empty caches (a process started, or taking over as leader, during
   * the run) rather than with the load, after the preload filled them.
   */
  readonly cold: boolean
}

/** Growth allowed from the middle third to the last: `middle * relative + absolute`. */
export interface Tolerance {
  readonly relative: number
  readonly absolute: number
}

export type SegmentVerdict =
  | { readonly label: string, readonly judged: false, readonly reason: string }
  | {
    readonly label: string
    readonly judged: true
    readonly flat: boolean
    /** Medians of the middle and the last third, and the largest last median allowed. */
    readonly middle: number
    readonly last: number
    readonly allowed: number
    /** The segment's span, in seconds since the run began. */
    readonly from: number
    readonly to: number
  }

/** A metric's outcome: `flat` only if every judged segment stayed flat, and at least one was judged. */
export interface MetricVerdict {
  readonly outcome: 'flat' | 'grew' | 'not judged'
  readonly segments: SegmentVerdict[]
}

/** Samples each judged third needs at least: with fewer, one outlier is the median. */
export const SAMPLES_PER_THIRD_MIN = 3
/** The shortest segment judged, that began warm: thirds of 50 s, ten samples each at 5 s. */
export const SEGMENT_SECONDS_MIN = 150
/**
 * The shortest segment judged, that began cold. A process that has just become its host's
 * leader fills bounded caches (the change feed keeps its last 8 MiB in memory, LevelDB its
 * block cache): about 4 minutes at the soak's load. Its warm-up third must cover that, or
 * the filling is judged as growth.
 */
export const COLD_SEGMENT_SECONDS_MIN = 720

export function median (values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('the median of nothing')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export function judgeSegment (segment: Segment, tolerance: Tolerance): SegmentVerdict {
  const { label, points, cold } = segment
  const first = points[0]
  const end = points.at(-1)
  if (first === undefined || end === undefined) return { label, judged: false, reason: 'no samples' }
  const [from] = first
  const [to] = end
  const span = to - from
  // Thirds of the time span, not of the sample count: a gap of missed samples stays a gap.
  const middle = points.filter(([t]) => t >= from + span / 3 && t < from + (2 * span) / 3).map(([, v]) => v)
  const last = points.filter(([t]) => t >= from + (2 * span) / 3).map(([, v]) => v)
  const spanMin = cold ? COLD_SEGMENT_SECONDS_MIN : SEGMENT_SECONDS_MIN
  if (span < spanMin || middle.length < SAMPLES_PER_THIRD_MIN || last.length < SAMPLES_PER_THIRD_MIN) {
    return { label, judged: false, reason: `too short: ${Math.round(span)} s, ${points.length} samples (${cold ? 'began cold: ' : ''}needs ${spanMin} s and ${SAMPLES_PER_THIRD_MIN} samples in each third)` }
  }
  const middleMedian = median(middle)
  const lastMedian = median(last)
  const allowed = middleMedian * (1 + tolerance.relative) + tolerance.absolute
  return { label, judged: true, flat: lastMedian <= allowed, middle: middleMedian, last: lastMedian, allowed, from, to }
}

export function judgeMetric (segments: readonly Segment[], tolerance: Tolerance): MetricVerdict {
  const verdicts = segments.map((segment) => judgeSegment(segment, tolerance))
  const judged = verdicts.filter((verdict) => verdict.judged)
  const outcome = judged.length === 0 ? 'not judged' : judged.every((verdict) => verdict.flat) ? 'flat' : 'grew'
  return { outcome, segments: verdicts }
}
