//! One case as an SVG bar chart: a group of bars per thread count, one bar
//! per implementation, Mops/s up the side (log scale when the figures span
//! more than [`LOG_SCALE_SPAN`]x, so small bars stay visible).

use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::is_baton;
use super::table::{threads_label, CaseTable};

const SIZE: (u32, u32) = (760, 400);

/// Width kept on the right for the legend, so it never covers a bar.
const LEGEND_WIDTH: u32 = 150;

/// Largest/smallest ratio above which the y axis turns logarithmic.
const LOG_SCALE_SPAN: f64 = 30.0;

/// Fraction of each thread-count slot the bars fill.
const GROUP_WIDTH: f64 = 0.8;

/// The chart of `table` as an SVG document.
pub(crate) fn svg(table: &CaseTable) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, SIZE).into_drawing_area();
        draw(&root, table).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw(root: &Area<'_>, table: &CaseTable) -> DrawResult {
    root.fill(&WHITE)?;
    let values: Vec<f64> = table
        .cells
        .iter()
        .flatten()
        .flatten()
        .map(|v| v / 1e6)
        .collect();
    let max = values.iter().copied().fold(0.0, f64::max).max(1e-6);
    let min = values
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(max, f64::min);
    let x = 0.0..table.threads.len() as f64;
    let title = format!(
        "{} / {}: Mops/s (higher is better)",
        table.experiment, table.case
    );
    if max / min > LOG_SCALE_SPAN {
        let low = min / 2.0;
        let y = (low..max * 2.0).log_scale();
        bars(root, table, &title, "Mops/s (log scale)", x, y, low)
    } else {
        bars(root, table, &title, "Mops/s", x, 0.0..max * 1.15, 0.0)
    }
}

fn bars<Y>(
    root: &Area<'_>,
    table: &CaseTable,
    title: &str,
    y_desc: &str,
    x: std::ops::Range<f64>,
    y: Y,
    base: f64,
) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (plot, legend) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d::<RangedCoordf64, Y>(x.into(), y)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_desc)
        .y_label_formatter(&|v| axis_label(*v))
        .draw()?;

    let width = GROUP_WIDTH / table.impls.len() as f64;
    for (k, (name, cells)) in table.impls.iter().zip(&table.cells).enumerate() {
        let color = colour(table, k);
        let rects = cells.iter().enumerate().filter_map(|(g, v)| {
            let v = (*v)? / 1e6;
            let x0 = g as f64 + (1.0 - GROUP_WIDTH) / 2.0 + k as f64 * width;
            Some(Rectangle::new(
                [(x0, base), (x0 + width * 0.9, v)],
                color.filled(),
            ))
        });
        chart.draw_series(rects)?;
        let y = 48 + 22 * k as i32;
        legend.draw(&Rectangle::new([(8, y), (22, y + 12)], color.filled()))?;
        let font = ("sans-serif", 14).into_font().color(&BLACK);
        legend.draw(&Text::new(name.as_str(), (28, y), font))?;
    }

    // Thread-count labels under each group, placed by hand: plotters' own
    // labels sit at round numbers, not at the groups' centres.
    for (g, threads) in table.threads.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(g as f64 + 0.5, base));
        let style = ("sans-serif", 14).into_font().color(&BLACK);
        let label = threads_label(*threads);
        let half = (label.len() as i32 * 7) / 2;
        plot.draw(&Text::new(label, (px - half, py + 8), style))?;
    }
    Ok(())
}

/// A y axis figure without needless decimals.
fn axis_label(v: f64) -> String {
    match v {
        0.0 => "0".to_owned(),
        v if v >= 10.0 => format!("{v:.0}"),
        v if v >= 1.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

/// baton in blues, Go in greens, the other peers in warm colours.
fn colour(table: &CaseTable, k: usize) -> RGBColor {
    const BATON: [RGBColor; 3] = [
        RGBColor(31, 119, 180),
        RGBColor(23, 190, 207),
        RGBColor(65, 68, 180),
    ];
    const GO: [RGBColor; 2] = [RGBColor(44, 160, 44), RGBColor(152, 223, 138)];
    const PEERS: [RGBColor; 5] = [
        RGBColor(255, 127, 14),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
    ];
    // 0 = baton, 1 = Go, 2 = other peers; colours cycle within a family.
    let family = |n: &str| match n {
        n if is_baton(n) => 0,
        n if n.starts_with("go") => 1,
        _ => 2,
    };
    let mine = family(&table.impls[k]);
    let rank = table.impls[..k]
        .iter()
        .filter(|n| family(n) == mine)
        .count();
    match mine {
        0 => BATON[rank % BATON.len()],
        1 => GO[rank % GO.len()],
        _ => PEERS[rank % PEERS.len()],
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn table(values: [f64; 2]) -> CaseTable {
        CaseTable {
            experiment: "idgen".into(),
            case: "next".into(),
            threads: vec![1, 8],
            impls: vec!["mutex".into(), "baton".into()],
            cells: vec![
                vec![Some(values[0]), Some(values[0] / 2.0)],
                vec![Some(values[1]), None],
            ],
            rss: vec![vec![None, None], vec![None, None]],
            latency: Vec::new(),
        }
    }

    #[test]
    fn svg_has_bars_legend_and_labels() {
        for values in [[1e6, 2e6], [1e5, 1e9]] {
            let svg = svg(&table(values)).unwrap();
            assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
            assert!(svg.contains("idgen / next"));
            assert!(
                svg.contains("\nmutex\n") && svg.contains("\nbaton\n"),
                "legend"
            );
            assert!(svg.contains("\n8 threads\n"), "group label");
            assert!(svg.contains("Mops/s"));
            // the background, three bars and two legend swatches
            assert_eq!(svg.matches("<rect").count(), 6, "{svg}");
        }
    }
}
