//! The `domopt` command line: solve, check and generate instances.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use domopt::bench::BenchCase;
use domopt::check::check;
use domopt::format::{ReadError, read_instance, read_plan, write_json};
use domopt::generate::{GenParams, generate};
use domopt::service::ServiceConfig;
use domopt::solve::{SOLVER_NAMES, SolveOptions, Solver, run_keeping_leftovers};

/// mimalloc instead of the system allocator: per-thread free lists, so memory a
/// background thread frees does not hold up the one that allocates. Checking the
/// plan while the solver's memory is freed, reading the instance and the solve
/// itself all do better with it (docs/tuning.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Distributed order management optimizer.
#[derive(Parser)]
#[command(name = "domopt", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The commands; each one's options are a struct of their own below (their
/// comments are plain `//` ones: clap would show doc comments as help text).
#[derive(Subcommand)]
enum Command {
    /// Solve an instance and write a plan (stdout unless --out).
    Solve(SolveArgs),
    /// Check a plan against its instance. Exit 0 valid, 1 invalid, 2 unreadable.
    Check(CheckArgs),
    /// Benchmark the MIP against the greedy policies on generated windows and print
    /// the README's table.
    Bench(BenchArgs),
    /// Run solvers on instances, check every plan, write CSV, JSON, report.md and plots.
    Compare(CompareArgs),
    /// Replay timestamped orders (`placed_at`) through windows of a given length.
    Replay(ReplayArgs),
    /// Run the order allocation service (HTTP API, windows, embedded SQLite).
    Serve(ServeArgs),
    /// Copy the service's two databases consistently (SQLite online backup; safe while
    /// the server runs).
    Backup(BackupArgs),
    /// Load-test a running service: submit generated orders in batches at a rate.
    Load(LoadArgs),
    /// Read an API key from stdin (one trailing newline dropped) and print its SHA-256
    /// in hex, the form `serve --api-keys` files store.
    HashKey,
    /// Generate a realistic synthetic instance.
    Generate(GenerateArgs),
}

// `domopt solve`'s options.
#[derive(Args)]
struct SolveArgs {
    /// Instance file (.json or .json.gz).
    instance: PathBuf,
    /// Solver.
    #[arg(long, value_enum, default_value_t = Solver::Mip)]
    solver: Solver,
    /// Wall-clock budget in seconds for the whole solve.
    #[arg(long, default_value_t = 10.0)]
    time_limit: f64,
    /// Threads for the MIP solver.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Seed for randomized choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Relative gap at which the MIP stops and reports optimal.
    #[arg(long, default_value_t = 1e-4)]
    gap: f64,
    /// Output plan file (.json or .json.gz).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the MIP model to this file (.lp or .mps).
    #[arg(long)]
    write_model: Option<PathBuf>,
}

// `domopt check`'s options.
#[derive(Args)]
struct CheckArgs {
    /// Instance file.
    instance: PathBuf,
    /// Plan file.
    plan: PathBuf,
}

// `domopt bench`'s options.
#[derive(Args)]
struct BenchArgs {
    /// Comma-separated ORDERSxNODESxSKUS:SECONDS cases.
    #[arg(
        long,
        default_value = "1000x20x500:1,10000x50x2000:5,100000x100x5000:60"
    )]
    sizes: String,
    /// Generator and solver seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Threads for the MIP solver.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Instead of generated sizes: every window (*.json, *.json.gz) of this directory,
    /// one table per directory (a family); repeat for several families.
    #[arg(long)]
    suite: Vec<PathBuf>,
    /// With --suite: comma-separated MIP budgets in seconds, each window at each.
    #[arg(long, default_value = "1,5")]
    budgets: String,
}

// `domopt compare`'s options.
#[derive(Args)]
struct CompareArgs {
    /// Instance files or directories of them (.json, .json.gz).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Comma-separated solvers.
    #[arg(long, default_value = "mip,cheapest,closest,fewest-splits")]
    solvers: String,
    /// Budget per solve in seconds.
    #[arg(long, default_value_t = 10.0)]
    time_limit: f64,
    /// HiGHS threads.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Vary a parameter: split_penalty, unfilled_penalty, late_penalty, capacity
    /// (factor) or a MIP tuning parameter `mip.NAME` (docs/tuning.md), e.g.
    /// `split_penalty=0,2,5,10` or `mip.ascent_share=0.05,0.1,0.2`.
    #[arg(long)]
    sweep: Option<String>,
    /// Output directory.
    #[arg(long, default_value = "compare-out")]
    out: PathBuf,
}

// `domopt replay`'s options.
#[derive(Args)]
struct ReplayArgs {
    /// Instance whose orders carry `placed_at` (see `generate --timestamps`).
    orders: PathBuf,
    /// Window lengths, comma-separated (e.g. `5m,15m,1h`); one replay per length.
    #[arg(long, default_value = "15m")]
    window: String,
    /// Solver.
    #[arg(long, default_value = "mip")]
    solver: String,
    /// Budget per window in seconds.
    #[arg(long, default_value_t = 2.0)]
    time_limit: f64,
    /// HiGHS threads.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Write the per-window results as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

// `domopt serve`'s options.
#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Data directory of the embedded database.
    #[arg(long, default_value = "domopt-data")]
    data: PathBuf,
    /// A PostgreSQL database shared by several replicas instead of the embedded
    /// SQLite files (postgres://USER@HOST:PORT/DB).
    #[arg(long)]
    database: Option<String>,
    /// With --database: seconds the leader's lease lasts unless renewed (renewed
    /// every third of it); a dead leader is replaced within it.
    #[arg(long, default_value_t = 5.0)]
    lease: f64,
    /// Window length in seconds.
    #[arg(long, default_value_t = 5.0)]
    window: f64,
    /// A window closes early when it holds this many orders.
    #[arg(long, default_value_t = 25_000)]
    max_orders: usize,
    /// Time budget of each window's solve, in seconds.
    #[arg(long, default_value_t = 2.0)]
    budget: f64,
    /// Window solver: mip, cheapest, closest, fewest-splits.
    #[arg(long, default_value = "mip")]
    solver: String,
    /// HiGHS threads per solve.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Largest request body in MiB.
    #[arg(long, default_value_t = 32)]
    max_body_mib: usize,
    /// Seconds a request's line and headers may take to arrive; also the idle
    /// timeout of keep-alive connections.
    #[arg(long, default_value_t = 30.0)]
    header_timeout: f64,
    /// Seconds a request's body may take to arrive.
    #[arg(long, default_value_t = 60.0)]
    body_timeout: f64,
    /// Open connections at most (lowered to fit the open-files limit).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// `/v1/plan` solves that may run at once (apart from the windows' solves).
    #[arg(long, default_value_t = 1)]
    plan_slots: usize,
    /// `/v1/plan` requests that may wait for a slot; more get 429.
    #[arg(long, default_value_t = 4)]
    plan_queue: usize,
    /// Largest `time_limit` a `/v1/plan` request may ask for, in seconds.
    #[arg(long, default_value_t = 60.0)]
    max_plan_seconds: f64,
    /// API key file: one `SHA256-HEX ROLE NAME` per line (roles admin, writer,
    /// reader); requests must then send `Authorization: Bearer KEY`.
    #[arg(long)]
    api_keys: Option<PathBuf>,
    /// With --api-keys, `/metrics` needs a key too (any role).
    #[arg(long)]
    metrics_auth: bool,
    /// Allow a non-loopback --listen without --api-keys (anyone who can reach the
    /// port may then change the network, stock and orders).
    #[arg(long)]
    insecure_no_auth: bool,
    /// Pending orders at most: submits beyond are answered 429 (E4291) with
    /// Retry-After.
    #[arg(long, default_value_t = 250_000)]
    max_pending: usize,
    /// `/readyz` answers 503 when the data directory's disk has less free space, in MiB.
    #[arg(long, default_value_t = 64)]
    min_free_disk_mib: u64,
    /// Largest streamed inventory snapshot (`PUT /v1/inventory` as
    /// application/x-ndjson), in MiB.
    #[arg(long, default_value_t = 4096)]
    max_snapshot_mib: usize,
}

// `domopt backup`'s options.
#[derive(Args)]
struct BackupArgs {
    /// Data directory of the service.
    #[arg(long, default_value = "domopt-data")]
    data: PathBuf,
    /// Directory to write ledger.sqlite and intake.sqlite into (new or empty).
    #[arg(long)]
    out: PathBuf,
}

// `domopt load`'s options.
#[derive(Args)]
struct LoadArgs {
    /// Base URL of the service; several, comma-separated (replicas sharing one
    /// database), spread the submits round-robin, the set-up and reads going to the first.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_delimiter = ',')]
    url: Vec<String>,
    /// Target orders per second.
    #[arg(long, default_value_t = 5000.0)]
    rate: f64,
    /// Orders per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Seconds to send.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Nodes of the generated network.
    #[arg(long, default_value_t = 50)]
    nodes: usize,
    /// Skus of the generated network.
    #[arg(long, default_value_t = 2000)]
    skus: usize,
    /// Do not load the network and stock first.
    #[arg(long)]
    no_setup: bool,
    /// API key sent as `Authorization: Bearer KEY` (default: $DOMOPT_API_KEY); an
    /// admin key is needed for the set-up, a writer key without it.
    #[arg(long)]
    api_key: Option<String>,
}

// `domopt generate`'s options.
#[derive(Args)]
struct GenerateArgs {
    /// Number of orders.
    #[arg(long, default_value_t = 1000)]
    orders: usize,
    /// Number of nodes.
    #[arg(long, default_value_t = 20)]
    nodes: usize,
    /// Number of skus.
    #[arg(long, default_value_t = 500)]
    skus: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Demand against supply (1.0 normal, higher is tighter).
    #[arg(long, default_value_t = 1.0)]
    tightness: f64,
    /// Per-day late penalty (soft SLA); hard SLA when absent.
    #[arg(long)]
    late_penalty: Option<f64>,
    /// Share of orders picked up in store.
    #[arg(long, default_value_t = 0.03)]
    pickup_share: f64,
    /// Minimum lines per order (raise for split-heavy windows).
    #[arg(long, default_value_t = 1)]
    min_lines: usize,
    /// Give orders `placed_at` times over one day (for `domopt replay`).
    #[arg(long)]
    timestamps: bool,
    /// Output file (.json or .json.gz); stdout when absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn unreadable(what: &str, e: &ReadError) -> ExitCode {
    eprintln!("error: {what}: {e}");
    ExitCode::from(2)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

fn main() -> ExitCode {
    let default_filter = match std::env::args().nth(1).as_deref() {
        Some("serve") => "info,highs=error",
        _ => "warn,highs=error",
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: log files and journals get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // DOMOPT_LOG_FORMAT=json writes one JSON object per event (for log shippers).
    if std::env::var("DOMOPT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Solve(args) => solve_command(args),
        Command::Check(args) => check_command(args),
        Command::Bench(args) => bench_command(args),
        Command::Compare(args) => compare_command(args),
        Command::Replay(args) => replay_command(args),
        Command::Serve(args) => serve_command(args),
        Command::Backup(args) => backup_command(args),
        Command::Load(args) => load_command(args),
        Command::HashKey => hash_key_command(),
        Command::Generate(args) => generate_command(args),
    }
}

/// `domopt solve`.
fn solve_command(args: SolveArgs) -> ExitCode {
    let SolveArgs {
        instance,
        solver,
        time_limit,
        threads,
        seed,
        gap,
        out,
        write_model,
    } = args;
    if !time_limit.is_finite() || time_limit <= 0.0 || threads == 0 || gap.is_nan() || gap < 0.0 {
        eprintln!("error: --time-limit must be > 0, --threads >= 1, --gap >= 0");
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let inst = match read_instance(&instance) {
        Ok(i) => i,
        Err(e) => return unreadable(&instance.display().to_string(), &e),
    };
    let opts = SolveOptions {
        solver,
        time_limit: command_budget(time_limit, started.elapsed(), inst.orders.len()),
        threads,
        seed,
        gap,
        write_model,
        cancel: None,
        mip: Default::default(),
    };
    let read_seconds = started.elapsed().as_secs_f64();
    let (plan, leftovers) = run_keeping_leftovers(&inst, &opts);
    // The process ends once the plan is out: the system reclaims the solver's
    // memory faster than freeing it piece by piece would.
    std::mem::forget(leftovers);
    let check_started = std::time::Instant::now();
    let report = check(&inst, &plan);
    let check_seconds = check_started.elapsed().as_secs_f64();
    let s = &report.summary;
    eprintln!(
        "{}: {} objective {:.4} bound {} shipments {} splits {} unfilled {} late {} in {:.3}s (read {read_seconds:.3}s, check {check_seconds:.3}s){}",
        plan.solver,
        serde_json::to_value(plan.status)
            .unwrap_or_default()
            .as_str()
            .unwrap_or("?"),
        plan.objective,
        plan.lower_bound.map_or("-".into(), |b| format!("{b:.4}")),
        s.shipments,
        s.extra_shipments,
        s.unfilled_units,
        s.late_shipments,
        plan.solve_seconds,
        if report.is_valid() {
            String::new()
        } else {
            format!(" INVALID ({} violations)", report.violations.len())
        },
    );
    if let Err(e) = write_json(&plan, out.as_deref()) {
        eprintln!("error: writing the plan: {e}");
        return ExitCode::from(2);
    }
    if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `domopt check`.
fn check_command(args: CheckArgs) -> ExitCode {
    let CheckArgs { instance, plan } = args;
    let inst = match read_instance(&instance) {
        Ok(i) => i,
        Err(e) => return unreadable(&instance.display().to_string(), &e),
    };
    let p = match read_plan(&plan) {
        Ok(p) => p,
        Err(e) => return unreadable(&plan.display().to_string(), &e),
    };
    let report = check(&inst, &p);
    for v in &report.violations {
        println!("{} {}", v.code, v.message);
    }
    let s = &report.summary;
    println!(
        "{}: objective {:.6} shipments {} split_shipments {} unfilled_units {} late_shipments {} violations {}",
        if report.is_valid() {
            "VALID"
        } else {
            "INVALID"
        },
        s.objective,
        s.shipments,
        s.extra_shipments,
        s.unfilled_units,
        s.late_shipments,
        report.violations.len()
    );
    if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `domopt bench`.
fn bench_command(args: BenchArgs) -> ExitCode {
    let BenchArgs {
        sizes,
        seed,
        threads,
        suite,
        budgets,
    } = args;
    if threads == 0 {
        eprintln!("error: --threads must be >= 1");
        return ExitCode::from(2);
    }
    let rows = if suite.is_empty() {
        let cases: Result<Vec<BenchCase>, String> =
            sizes.split(',').map(BenchCase::parse).collect();
        let cases = match cases {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: --sizes: {e}");
                return ExitCode::from(2);
            }
        };
        let rows = domopt::bench::run(&cases, seed, threads);
        print!(
            "{}",
            domopt::bench::markdown("orders × nodes × skus", &rows)
        );
        rows
    } else {
        let budgets: Result<Vec<f64>, _> = budgets.split(',').map(str::parse::<f64>).collect();
        let budgets = match budgets {
            Ok(b) if b.iter().all(|x| x.is_finite() && *x > 0.0) => b,
            _ => {
                eprintln!("error: --budgets is a comma-separated list of seconds > 0");
                return ExitCode::from(2);
            }
        };
        match domopt::bench::run_suites(&suite, &budgets, seed, threads) {
            Ok(suites) => suites
                .into_iter()
                .flat_map(|(family, rows)| {
                    println!("\n### {family}\n");
                    print!("{}", domopt::bench::markdown("window", &rows));
                    rows
                })
                .collect(),
            Err(e) => {
                eprintln!("error: --suite: {e}");
                return ExitCode::from(2);
            }
        }
    };
    println!(
        "\n{} cores; MIP with {threads} threads; peak RSS {} MiB",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        domopt::bench::peak_rss_mib().map_or("?".into(), |m| format!("{m:.0}"))
    );
    if rows.iter().all(|r| r.all_valid) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `domopt compare`.
fn compare_command(args: CompareArgs) -> ExitCode {
    let CompareArgs {
        inputs,
        solvers,
        time_limit,
        threads,
        sweep,
        out,
    } = args;
    use domopt::workbench::compare;
    let solvers: Vec<String> = solvers.split(',').map(|s| s.trim().to_string()).collect();
    if let Some(bad) = solvers.iter().find(|s| !SOLVER_NAMES.contains(&s.as_str())) {
        eprintln!(
            "error: --solvers: unknown solver \"{bad}\"; expected some of: {}",
            SOLVER_NAMES.join(", ")
        );
        return ExitCode::from(2);
    }
    if !(time_limit.is_finite() && time_limit > 0.0) || threads == 0 {
        eprintln!("error: --time-limit must be > 0 and --threads >= 1");
        return ExitCode::from(2);
    }
    let sweep = match sweep.as_deref().map(compare::Sweep::parse).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let files = match compare::instance_files(&inputs) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = compare::CompareOptions {
        solvers,
        time_limit: Duration::from_secs_f64(time_limit),
        threads,
        sweep,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let rows = compare::run(&files, &opts, |done, total, label| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(label.to_string());
    });
    bar.finish_and_clear();
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = compare::write_outputs(&out, &rows, &opts) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let invalid = rows.iter().filter(|r| !r.kpis.valid).count();
    eprintln!(
        "{} plans ({} instance files) -> {}/report.md, results.csv, results.json, *.svg{}",
        rows.len(),
        files.len(),
        out.display(),
        if invalid > 0 {
            format!("; {invalid} INVALID PLANS")
        } else {
            String::new()
        }
    );
    if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `domopt replay`.
fn replay_command(args: ReplayArgs) -> ExitCode {
    let ReplayArgs {
        orders,
        window,
        solver,
        time_limit,
        threads,
        out,
    } = args;
    use domopt::workbench::replay;
    let valid_options = SOLVER_NAMES.contains(&solver.as_str())
        && time_limit.is_finite()
        && time_limit > 0.0
        && threads > 0;
    if !valid_options {
        eprintln!(
            "error: --solver is one of {}; --time-limit > 0; --threads >= 1",
            SOLVER_NAMES.join(", ")
        );
        return ExitCode::from(2);
    }
    let lengths: Result<Vec<f64>, String> = window.split(',').map(replay::parse_duration).collect();
    let lengths = match lengths {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: --window: {e}");
            return ExitCode::from(2);
        }
    };
    let day = match read_instance(&orders) {
        Ok(i) => i,
        Err(e) => return unreadable(&orders.display().to_string(), &e),
    };
    println!(
        "| window | windows | objective | shipments | split shipments | unfilled units | late | solve s | valid |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut all = Vec::new();
    for w in lengths {
        let r = match replay::replay(
            &day,
            w,
            &solver,
            Duration::from_secs_f64(time_limit),
            threads,
        ) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        println!(
            "| {} s | {} | {:.2} | {} | {} | {} | {} | {:.2} | {} |",
            w,
            r.windows.len(),
            r.objective,
            r.shipments,
            r.split_shipments,
            r.unfilled_units,
            r.late_shipments,
            r.solve_seconds,
            r.all_valid
        );
        all.push(r);
    }
    if let Some(path) = out
        && let Err(e) = write_json(&all, Some(&path))
    {
        eprintln!("error: writing {}: {e}", path.display());
        return ExitCode::from(2);
    }
    if all.iter().all(|r| r.all_valid) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `domopt serve`.
fn serve_command(args: ServeArgs) -> ExitCode {
    let ServeArgs {
        listen,
        data,
        database,
        lease,
        window,
        max_orders,
        budget,
        solver,
        threads,
        max_body_mib,
        header_timeout,
        body_timeout,
        max_connections,
        plan_slots,
        plan_queue,
        max_plan_seconds,
        api_keys,
        metrics_auth,
        insecure_no_auth,
        max_pending,
        min_free_disk_mib,
        max_snapshot_mib,
    } = args;
    let positive = |x: f64| x.is_finite() && x > 0.0 && x < 1e9;
    if !SOLVER_NAMES.contains(&solver.as_str())
        || !positive(window)
        || !positive(lease)
        || !positive(budget)
        || !positive(header_timeout)
        || !positive(body_timeout)
        || !positive(max_plan_seconds)
        || plan_slots == 0
        || max_orders == 0
        || threads == 0
        || max_body_mib == 0
        || max_connections == 0
        || max_pending == 0
        || max_snapshot_mib == 0
    {
        eprintln!(
            "error: --solver is one of {}; --window, --lease, --budget, --header-timeout, --body-timeout and --max-plan-seconds > 0; --max-orders, --threads, --max-body-mib, --max-connections, --plan-slots, --max-pending, --max-snapshot-mib >= 1",
            SOLVER_NAMES.join(", ")
        );
        return ExitCode::from(2);
    }
    let api_keys_file = api_keys.clone();
    let api_keys = match api_keys.map(|p| domopt::service::auth::KeyTable::load(&p)) {
        None => None,
        Some(Ok(keys)) => Some(std::sync::Arc::new(keys)),
        Some(Err(e)) => {
            eprintln!("error: --api-keys {e}");
            return ExitCode::from(2);
        }
    };
    let config = ServiceConfig {
        listen,
        data_dir: data,
        database,
        lease: Duration::from_secs_f64(lease),
        window: Duration::from_secs_f64(window),
        max_orders,
        budget: Duration::from_secs_f64(budget),
        solver,
        solver_threads: threads,
        solve_slots: 1,
        plan_slots,
        plan_queue,
        max_plan_seconds,
        max_body_bytes: max_body_mib << 20,
        header_timeout: Duration::from_secs_f64(header_timeout),
        body_timeout: Duration::from_secs_f64(body_timeout),
        max_connections,
        api_keys,
        api_keys_file,
        metrics_auth,
        insecure_no_auth,
        max_pending,
        min_free_bytes: min_free_disk_mib.saturating_mul(1 << 20),
        max_snapshot_bytes: max_snapshot_mib.saturating_mul(1 << 20),
    };
    let rt = runtime();
    let result = rt.block_on(domopt::service::serve(config, |addr| {
        println!("listening on http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }));
    // Windows are decided before `serve` returns; what may still run is a
    // cancelled `/v1/plan` solve, which the exit abandons.
    rt.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `domopt backup`.
fn backup_command(args: BackupArgs) -> ExitCode {
    let BackupArgs { data, out } = args;
    match domopt::service::store::sqlite::backup(&data, &out) {
        Ok(()) => {
            println!("backed up {} to {}", data.display(), out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `domopt load`.
fn load_command(args: LoadArgs) -> ExitCode {
    let LoadArgs {
        url,
        rate,
        batch,
        seconds,
        concurrency,
        seed,
        nodes,
        skus,
        no_setup,
        api_key,
    } = args;
    if !(rate > 0.0 && seconds > 0.0) || batch == 0 || concurrency == 0 {
        eprintln!("error: --rate, --seconds > 0; --batch, --concurrency >= 1");
        return ExitCode::from(2);
    }
    let urls: Vec<String> = url.iter().map(|u| u.trim().to_string()).collect();
    if urls.is_empty() || urls.iter().any(|u| u.is_empty()) {
        eprintln!(
            "error: --url needs one base URL or a comma-separated list without empty entries"
        );
        return ExitCode::from(2);
    }
    let params = domopt::service::load::LoadParams {
        urls,
        rate,
        batch,
        seconds,
        concurrency,
        seed,
        nodes,
        skus,
        setup: !no_setup,
        api_key: api_key.or_else(|| std::env::var("DOMOPT_API_KEY").ok()),
    };
    match runtime().block_on(domopt::service::load::run(&params)) {
        Ok(r) => {
            println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            let over = if r.urls > 1 {
                format!(" over {} URLs", r.urls)
            } else {
                String::new()
            };
            println!(
                "\n{} cores: {:.0} orders/s accepted{over} (target {rate}), p50 {:.1} ms, p99 {:.1} ms, {} failed requests; {} windows, largest {} orders, decided at most {:.2} s after closing; past the budget p99 {:.0} ms, max {:.0} ms; ATP p99 {:.1} ms",
                std::thread::available_parallelism().map_or(0, |n| n.get()),
                r.orders_per_second,
                r.latency_ms.p50,
                r.latency_ms.p99,
                r.failed_requests,
                r.windows,
                r.max_window_orders,
                r.max_decision_lag_seconds,
                r.decision_overrun_ms.p99,
                r.decision_overrun_ms.max,
                r.atp_latency_ms.p99
            );
            if r.failed_requests == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `domopt hash-key`.
fn hash_key_command() -> ExitCode {
    use std::io::Read;
    let mut key = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut key) {
        eprintln!("error: cannot read stdin: {e}");
        return ExitCode::from(2);
    }
    let key = key
        .strip_suffix(b"\n")
        .map(|k| k.strip_suffix(b"\r").unwrap_or(k))
        .unwrap_or(&key);
    if key.is_empty() {
        eprintln!("error: the key on stdin is empty");
        return ExitCode::from(2);
    }
    println!("{}", domopt::service::auth::hash_hex(key));
    ExitCode::SUCCESS
}

/// `domopt generate`.
fn generate_command(args: GenerateArgs) -> ExitCode {
    let GenerateArgs {
        orders,
        nodes,
        skus,
        seed,
        tightness,
        late_penalty,
        pickup_share,
        min_lines,
        timestamps,
        out,
    } = args;
    if !(0.0..=1.0).contains(&pickup_share) || min_lines == 0 {
        eprintln!("error: --pickup-share is in [0, 1] and --min-lines >= 1");
        return ExitCode::from(2);
    }
    if nodes == 0 || skus == 0 || !(tightness.is_finite() && tightness > 0.0) {
        eprintln!("error: --nodes and --skus must be >= 1 and --tightness > 0");
        return ExitCode::from(2);
    }
    if late_penalty.is_some_and(|l| !(l.is_finite() && l >= 0.0)) {
        eprintln!("error: --late-penalty must be a finite number >= 0");
        return ExitCode::from(2);
    }
    let mut inst = generate(&GenParams {
        orders,
        nodes,
        skus,
        seed,
        tightness,
        late_penalty_per_day: late_penalty,
        pickup_share,
        min_lines,
    });
    if timestamps {
        domopt::generate::stamp_day(&mut inst, seed);
    }
    if let Err(e) = write_json(&inst, out.as_deref()) {
        eprintln!("error: writing the instance: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// What is left of the command's `--time-limit` for the solver after reading an
/// instance of `orders` orders in `read`: the budget covers the whole command, and
/// checking and writing the plan afterwards take about 5 µs per order plus a fifth
/// of the reading time (docs/tuning.md), plus 10 ms to exit. At least 10 ms.
fn command_budget(time_limit: f64, read: Duration, orders: usize) -> Duration {
    let after = Duration::from_secs_f64(5e-6 * orders as f64) + read / 5;
    let keep_back = read + after + Duration::from_millis(10);
    Duration::from_secs_f64(time_limit)
        .saturating_sub(keep_back)
        .max(Duration::from_millis(10))
}
