/**
 * A line chart as a standalone SVG document, written by hand: the soak needs lines over time
 * with labelled axes, a legend and shaded stretches, which is little enough not to take a
 * charting dependency for.
 */

/** A point, and whether the line to it is dashed (a process that was a guest then). */
type ChartPoint = readonly [x: number, y: number, dashed?: boolean]

/** One line: points in order of x; null breaks the line (a process that was down). */
export interface ChartSeries {
  readonly name: string
  readonly points: ReadonlyArray<ChartPoint | null>
}

/** A stretch of x shaded behind the lines (a fault), with a short label. */
interface ChartBand {
  readonly from: number
  readonly to: number
  readonly label: string
}

interface Chart {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly ChartSeries[]
  readonly bands: readonly ChartBand[]
  /** The x range drawn: the run's, even where no series has points. */
  readonly xMax: number
  /** What a dashed stretch means, for the legend. */
  readonly dashed?: string
}

const WIDTH = 960
const HEIGHT = 480
const MARGIN = { left: 80, right: 150, top: 48, bottom: 56 }
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom
/** Distinct on white and for the common colour blindnesses, in the order series get them. */
const COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#000000', '#f0e442']
const TICKS = 6

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** A round step (1, 2 or 5 times a power of ten) that cuts `span` into about TICKS parts. */
function tickStep (span: number): number {
  if (!(span > 0)) return 1
  const rough = span / TICKS
  const power = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)
  return step ?? 10 * power
}

/** Shortest text for a tick: as many decimals as the step needs. */
function tickText (value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)))
  return value.toFixed(decimals)
}

export function lineChart (chart: Chart): string {
  const values = chart.series.flatMap((s) => s.points.filter((p): p is readonly [number, number] => p !== null).map(([, y]) => y))
  // From zero: a flat line should look flat, not like noise blown up to the whole height.
  const yStep = tickStep(Math.max(...values, 0) * 1.1)
  const yMax = Math.max(yStep, Math.ceil((Math.max(...values, 0) * 1.05) / yStep) * yStep)
  const xMax = chart.xMax > 0 ? chart.xMax : 1
  const xStep = tickStep(xMax)
  const x = (value: number): number => MARGIN.left + (Math.min(Math.max(value, 0), xMax) / xMax) * PLOT_WIDTH
  const y = (value: number): number => MARGIN.top + PLOT_HEIGHT - (value / yMax) * PLOT_HEIGHT
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`)
  out.push(`<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escape(chart.title)}</text>`)
  for (const band of chart.bands) {
    const left = x(band.from)
    const width = Math.max(1, x(band.to) - left)
    out.push(`<rect x="${left.toFixed(1)}" y="${MARGIN.top}" width="${width.toFixed(1)}" height="${PLOT_HEIGHT}" fill="#f3d9c6" fill-opacity="0.6"><title>${escape(band.label)}</title></rect>`)
    out.push(`<text transform="translate(${(left + 3).toFixed(1)},${MARGIN.top + 4}) rotate(90)" font-size="9" fill="#8a4b20">${escape(band.label)}</text>`)
  }
  // Ticks by count, not by adding steps, which would drift from round values.
  for (let k = 0; k * yStep <= yMax * (1 + 1e-9); k++) {
    const v = k * yStep
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_WIDTH}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e0e0e0"/>`)
    out.push(`<text x="${MARGIN.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${tickText(v, yStep)}</text>`)
  }
  for (let k = 0; k * xStep <= xMax * (1 + 1e-9); k++) {
    const v = k * xStep
    out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${MARGIN.top + PLOT_HEIGHT}" y2="${MARGIN.top + PLOT_HEIGHT + 5}" stroke="#333"/>`)
    out.push(`<text x="${x(v).toFixed(1)}" y="${MARGIN.top + PLOT_HEIGHT + 18}" text-anchor="middle">${tickText(v, xStep)}</text>`)
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" fill="none" stroke="#333"/>`)
  out.push(`<text x="${MARGIN.left + PLOT_WIDTH / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escape(chart.xLabel)}</text>`)
  out.push(`<text transform="translate(20,${MARGIN.top + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`)
  for (const [i, series] of chart.series.entries()) {
    const colour = COLOURS[i % COLOURS.length] as string
    // Each unbroken run of points in one style is a polyline; a lone point is a dot.
    let run: ChartPoint[] = []
    let dashed = false
    const flush = (): void => {
      if (run.length === 1) {
        const [px, py] = run[0] as ChartPoint
        out.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="2" fill="${colour}"/>`)
      } else if (run.length > 1) {
        out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5"${dashed ? ' stroke-dasharray="5 3"' : ''} points="${run.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"/>`)
      }
      run = []
    }
    for (const point of series.points) {
      if (point === null) {
        flush()
        continue
      }
      const style = point[2] === true
      if (style !== dashed && run.length > 0) {
        // A new style starts at the last point of the old one: the line stays unbroken.
        const last = run.at(-1) as ChartPoint
        flush()
        run.push(last)
      }
      dashed = style
      run.push(point)
    }
    flush()
    const legendY = MARGIN.top + 10 + i * 18
    out.push(`<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 36}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="3"/>`)
    out.push(`<text x="${WIDTH - MARGIN.right + 42}" y="${legendY + 4}">${escape(series.name)}</text>`)
  }
  let legendY = MARGIN.top + 10 + chart.series.length * 18
  if (chart.dashed !== undefined && chart.series.some((s) => s.points.some((p) => p?.[2] === true))) {
    out.push(`<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 36}" y1="${legendY}" y2="${legendY}" stroke="#333" stroke-width="1.5" stroke-dasharray="5 3"/>`)
    out.push(`<text x="${WIDTH - MARGIN.right + 42}" y="${legendY + 4}">${escape(chart.dashed)}</text>`)
    legendY += 18
  }
  if (chart.bands.length > 0) {
    out.push(`<rect x="${WIDTH - MARGIN.right + 12}" y="${legendY - 6}" width="24" height="12" fill="#f3d9c6"/>`)
    out.push(`<text x="${WIDTH - MARGIN.right + 42}" y="${legendY + 4}">fault</text>`)
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}
