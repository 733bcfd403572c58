//! Greedy and generator throughput, and small MIP solves.
//! Run: `cargo bench --bench throughput`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domopt::cost::Network;
use domopt::generate::{GenParams, generate};
use domopt::solve::{SolveOptions, greedy, solve};

fn greedy_throughput(c: &mut Criterion) {
    let inst = generate(&GenParams {
        orders: 10_000,
        nodes: 50,
        skus: 2000,
        seed: 1,
        ..Default::default()
    });
    let lines: usize = inst.orders.iter().map(|o| o.lines.len()).sum();
    let mut g = c.benchmark_group("greedy_10k_orders_50_nodes");
    g.throughput(Throughput::Elements(lines as u64));
    g.sample_size(20);
    for policy in greedy::Policy::ALL {
        g.bench_function(policy.name(), |b| {
            b.iter(|| {
                let net = Network::new(&inst);
                black_box(greedy::allocate(&net, policy))
            })
        });
    }
    g.finish();
}

fn generator_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(10);
    g.bench_function("10k_orders_50_nodes_2000_skus", |b| {
        b.iter(|| {
            black_box(generate(&GenParams {
                orders: 10_000,
                nodes: 50,
                skus: 2000,
                seed: 1,
                ..Default::default()
            }))
        })
    });
    g.finish();
}

fn small_mip(c: &mut Criterion) {
    let inst = generate(&GenParams {
        orders: 200,
        nodes: 10,
        skus: 50,
        seed: 1,
        ..Default::default()
    });
    let opts = SolveOptions {
        time_limit: Duration::from_secs(30),
        ..Default::default()
    };
    let mut g = c.benchmark_group("mip");
    g.sample_size(10);
    g.bench_function("200_orders_10_nodes", |b| {
        b.iter(|| black_box(solve(&inst, "mip", &opts).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, greedy_throughput, generator_throughput, small_mip);
criterion_main!(benches);
