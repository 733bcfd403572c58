//! The stages around the solvers: reading and validating an instance, checking a plan
//! and computing its KPIs. Run: `cargo bench --bench pipeline`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domopt::check::check;
use domopt::format::parse_instance;
use domopt::generate::{GenParams, generate};
use domopt::solve::{SolveOptions, solve};
use domopt::workbench::kpis;

fn pipeline(c: &mut Criterion) {
    let inst = generate(&GenParams {
        orders: 10_000,
        nodes: 50,
        skus: 2000,
        seed: 1,
        ..Default::default()
    });
    let bytes = serde_json::to_vec(&inst).unwrap();
    let plan = solve(&inst, "cheapest", &SolveOptions::default()).unwrap();
    let mut g = c.benchmark_group("pipeline_10k_orders_50_nodes");
    g.throughput(Throughput::Elements(inst.orders.len() as u64));
    g.sample_size(10);
    g.bench_function("read_and_validate", |b| {
        b.iter(|| black_box(parse_instance(&bytes).unwrap()))
    });
    g.bench_function("check_plan", |b| b.iter(|| black_box(check(&inst, &plan))));
    let report = check(&inst, &plan);
    g.bench_function("kpis", |b| {
        b.iter(|| black_box(kpis(&inst, &plan, &report)))
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
