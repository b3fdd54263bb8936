//! Message-history figures: compressed size of a reproducible PoUW-like
//! corpus at zlib levels 1/6/9 (and 4/5 for comparison), compression throughput, `add_message` cost, and a
//! 0.1 % window search over a 1,000,000-message history held in 1000 batches.
//!
//! `cargo bench -p pouw-netops --bench history`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pouw_netops::history::{Frontier, RecordRef, merkle};
use pouw_netops::preset::large;
use pouw_netops::{HistoryConfig, Instant, MessageHistoryCompressor, Rng};
use std::hint::black_box;
use std::time::Duration;

/// One generated message (owned, so the bench can lend `RecordRef`s).
struct Msg {
    ts: u64,
    sender: String,
    kind: &'static str,
    payload: Vec<u8>,
}

impl Msg {
    fn r(&self) -> RecordRef<'_> {
        RecordRef {
            timestamp: Instant::from_micros(self.ts),
            sender: &self.sender,
            message_type: self.kind,
            payload: &self.payload,
        }
    }
}

/// A reproducible corpus of PoUW-like traffic from 64 senders: gradient updates
/// (60 %), heartbeats (25 %), task assignments (10 %) and new blocks (5 %), with
/// compact JSON payloads carrying iteration, loss and node fields; messages are
/// 0.5 to 1.5 ms apart.
fn corpus(n: usize, seed: u64) -> Vec<Msg> {
    let mut rng = Rng::new(seed);
    let mut ts = 1_700_000_000_000_000u64;
    let mut iteration = [0u64; 64];
    let mut height = 100_000u64;
    (0..n)
        .map(|_| {
            ts += 500 + rng.next_u64() % 1000;
            let node = (rng.next_u64() % 64) as usize;
            iteration[node] += 1;
            let it = iteration[node];
            let loss = 2.5 / (1.0 + it as f64 / 50.0) + (rng.next_u64() % 1000) as f64 / 100_000.0;
            let roll = rng.next_u64() % 100;
            let (kind, payload) = if roll < 60 {
                let norm = (rng.next_u64() % 100_000) as f64 / 10_000.0;
                (
                    "gradient_update",
                    format!(
                        "{{\"iteration\":{it},\"loss\":{loss:.6},\"node\":\"worker-{node:02}\",\"task\":\"task-{}\",\"grad_norm\":{norm:.4}}}",
                        node % 8
                    ),
                )
            } else if roll < 85 {
                let cpu = (rng.next_u64() % 100) as f64 / 100.0;
                (
                    "heartbeat",
                    format!("{{\"iteration\":{it},\"loss\":{loss:.6},\"node\":\"worker-{node:02}\",\"cpu\":{cpu:.2}}}"),
                )
            } else if roll < 95 {
                (
                    "task_assignment",
                    format!(
                        "{{\"iteration\":{it},\"loss\":{loss:.6},\"node\":\"worker-{node:02}\",\"task\":\"task-{}\",\"role\":\"primary\"}}",
                        rng.next_u64() % 32
                    ),
                )
            } else {
                height += 1;
                (
                    "new_block",
                    format!(
                        "{{\"iteration\":{it},\"loss\":{loss:.6},\"node\":\"worker-{node:02}\",\"height\":{height},\"hash\":\"{:016x}\"}}",
                        rng.next_u64()
                    ),
                )
            };
            Msg { ts, sender: format!("worker-{node:02}"), kind, payload: payload.into_bytes() }
        })
        .collect()
}

type History = MessageHistoryCompressor<{ large::HISTORY_BATCHES }, { large::HISTORY_ARCHIVE }>;

fn history(threshold: u32, level: u8, max_batch_bytes: usize) -> Box<History> {
    History::new_boxed(HistoryConfig {
        compression_threshold: threshold,
        compression_level: level,
        max_batch_bytes,
        ..HistoryConfig::default()
    })
    .unwrap()
}

/// Prints raw and compressed sizes of the 50,000-message corpus at levels 1, 6, 9
/// (default threshold: 50 batches of 1000; compressed size includes batch headers).
/// This thread's user + system CPU time in seconds (Linux; 10 ms ticks), so the
/// throughput figure can be separated from waiting for a shared CPU.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn corpus_sizes(msgs: &[Msg]) {
    println!("\ncorpus: {} messages, 64 senders, seed 42", msgs.len());
    println!("| level | raw postcard bytes | compressed bytes | ratio | space saved | wall MB/s | CPU-time MB/s |");
    println!("|---|---|---|---|---|---|---|");
    for level in [1u8, 4, 5, 6, 9] {
        // Sealing time only: buffer a batch (untimed), then time compress_batch, 5 passes.
        let (mut wall, mut cpu, mut stats) = (0.0, 0.0, None);
        for _ in 0..5 {
            let mut h = history(1001, level, 4 << 20);
            for chunk in msgs.chunks(1000) {
                for m in chunk {
                    h.add_message(Instant::ZERO, m.r()).unwrap();
                }
                let (w0, c0) = (std::time::Instant::now(), thread_cpu_secs());
                h.compress_batch(Instant::ZERO).unwrap();
                wall += w0.elapsed().as_secs_f64();
                cpu += thread_cpu_secs().zip(c0).map_or(0.0, |(a, b)| a - b);
            }
            stats = Some(h.stats());
        }
        let s = stats.unwrap();
        let mb = 5.0 * s.raw_bytes as f64 / 1e6;
        println!(
            "| {level} | {} | {} | {:.3} | {:.1} % | {:.1} | {:.1} |",
            s.raw_bytes,
            s.compressed_bytes,
            s.compression_ratio,
            s.space_saved_percent,
            mb / wall,
            mb / cpu
        );
    }
    println!();
}

fn benches(c: &mut Criterion) {
    let msgs = corpus(50_000, 42);
    corpus_sizes(&msgs);

    // Sealing one batch of 1000 messages (postcard records already buffered: zlib + header).
    let mut g = c.benchmark_group("history/compress_1000");
    let raw: u64 = msgs[..1000].iter().map(|m| m.r().encoded_len() as u64).sum();
    g.throughput(Throughput::Bytes(raw));
    for level in [1u8, 6, 9] {
        g.bench_function(format!("level_{level}"), |b| {
            b.iter_batched(
                || {
                    let mut h = history(1001, level, 4 << 20);
                    for m in &msgs[..1000] {
                        h.add_message(Instant::ZERO, m.r()).unwrap();
                    }
                    h
                },
                |mut h| black_box(h.compress_batch(Instant::ZERO).unwrap()),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();

    // add_message below the threshold (no compression), steady state: one history
    // whose buffer is reused; between runs of 9000 adds it is sealed (stored, level 0)
    // and drained outside the timed region.
    let mut g = c.benchmark_group("history");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add_message", |b| {
        let mut h: Box<MessageHistoryCompressor<2, 2>> = MessageHistoryCompressor::new_boxed(HistoryConfig {
            compression_threshold: 10_000,
            compression_level: 0,
            max_batch_bytes: 16 << 20,
            ..HistoryConfig::default()
        })
        .unwrap();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(9000);
                h.compress_batch(Instant::ZERO).unwrap();
                while h.poll_archived().is_some() {}
                let start = std::time::Instant::now();
                for m in &msgs[..n as usize] {
                    black_box(h.add_message(Instant::ZERO, m.r()).unwrap());
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });
    g.finish();

    // A 1,000,000-message history in 1000 batches; search a window holding 0.1 % (1000 messages).
    let big = corpus(1_000_000, 7);
    let mut h = history(1000, 6, 4 << 20);
    for m in &big {
        h.add_message(Instant::ZERO, m.r()).unwrap();
    }
    assert_eq!(h.stats().batches_in_memory, 1000);
    let (lo, hi) = (Instant::from_micros(big[600_500].ts), Instant::from_micros(big[601_499].ts));
    assert_eq!(h.search(lo, hi, None, None).unwrap().len(), 1000);
    let mut g = c.benchmark_group("history/search_1M");
    g.bench_function("window_0.1pct", |b| b.iter(|| black_box(h.search(lo, hi, None, None).unwrap().len())));
    g.bench_function("window_0.1pct_one_sender", |b| {
        b.iter(|| black_box(h.search(lo, hi, None, Some("worker-07")).unwrap().len()))
    });
    g.bench_function("all_time_one_sender_absent", |b| {
        b.iter(|| black_box(h.search(Instant::ZERO, Instant::MAX, None, Some("worker-99")).unwrap().len()))
    });
    g.finish();

    // The Merkle log of that history: 10^6 leaves in 1000 batches of 1000.
    assert_eq!(h.log_size(), 1000);
    let root = h.log_root();
    let proof = h.inclusion_proof(600, 500).unwrap();
    let record = postcard::to_allocvec(&big[600_500].r()).unwrap();
    let parsed = merkle::InclusionProof::parse(&proof).unwrap();
    println!(
        "\ninclusion proof for 10^6 messages: {} hashes ({} in the batch, {} in the log), {} bytes\n",
        parsed.batch_path.len() + parsed.log_path.len(),
        parsed.batch_path.len(),
        parsed.log_path.len(),
        proof.len()
    );
    merkle::verify_record(&proof, &record, &root).unwrap();
    let consistency = h.consistency_proof(500).unwrap();
    let root_500 = h.log_root_at(500).unwrap();
    let mut g = c.benchmark_group("history/merkle_1M");
    g.bench_function("verify_inclusion", |b| {
        b.iter(|| merkle::verify_record(black_box(&proof), black_box(&record), black_box(&root)).unwrap())
    });
    g.bench_function("verify_consistency_500_of_1000_batches", |b| {
        b.iter(|| {
            let path = merkle::Path::new(black_box(&consistency)).unwrap();
            merkle::verify_consistency(500, 1000, &root_500, &root, path).unwrap()
        })
    });
    g.bench_function("prove_inclusion", |b| b.iter(|| black_box(h.inclusion_proof(600, 500).unwrap())));
    g.finish();

    // Decoding one batch back to records: into a reused buffer without alloc
    // (records borrowed), and to owned records.
    let batch = h.batch(600).unwrap();
    let raw_len = batch.header().raw_len;
    // The same loops timed in this thread's CPU time (the machine is shared).
    let mut scratch = vec![0u8; batch.header().scratch_len()];
    let decode_once = |scratch: &mut [u8]| {
        let view = batch.view();
        view.records(scratch).unwrap().map(|r| r.unwrap().payload.len()).sum::<usize>()
    };
    let c0 = thread_cpu_secs();
    for _ in 0..2000 {
        black_box(decode_once(&mut scratch));
    }
    let decode_cpu = thread_cpu_secs().zip(c0).map_or(0.0, |(a, b)| a - b);
    // Checked reads (what reading a batch back does): the one-pass check,
    // and the two passes it replaced (rebuild every record, then parse and
    // hash each one), alternated so load swings hit both.
    let two_pass = |scratch: &mut [u8]| {
        let view = batch.view();
        let mut tree = Frontier::new();
        let mut records = view.records(scratch).unwrap();
        while let Some(r) = records.next() {
            black_box(r.unwrap());
            tree.push(merkle::leaf_hash(records.last_bytes()));
        }
        assert_eq!(Some(tree.root()), view.header().log.map(|l| l.batch_root));
    };
    let (mut one_cpu, mut two_cpu) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let c0 = thread_cpu_secs();
        for _ in 0..100 {
            black_box(batch.view().validate(&mut scratch).unwrap());
        }
        one_cpu.push(thread_cpu_secs().zip(c0).map_or(0.0, |(a, b)| a - b) / 100.0);
        let c0 = thread_cpu_secs();
        for _ in 0..100 {
            two_pass(&mut scratch);
        }
        two_cpu.push(thread_cpu_secs().zip(c0).map_or(0.0, |(a, b)| a - b) / 100.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    println!(
        "CPU time, medians of 15: validate_1000 one pass {:.0} µs, two passes {:.0} µs",
        median(&mut one_cpu) * 1e6,
        median(&mut two_cpu) * 1e6
    );
    let c0 = thread_cpu_secs();
    for _ in 0..200_000 {
        merkle::verify_record(black_box(&proof), black_box(&record), black_box(&root)).unwrap();
    }
    let verify_cpu = thread_cpu_secs().zip(c0).map_or(0.0, |(a, b)| a - b);
    println!(
        "\nCPU time: decode_1000 records_no_alloc {:.0} MB/s ({} raw bytes, {:.0} µs); verify_inclusion {:.2} µs\n",
        2000.0 * f64::from(raw_len) / decode_cpu / 1e6,
        raw_len,
        decode_cpu / 2000.0 * 1e6,
        verify_cpu / 200_000.0 * 1e6
    );
    let mut g = c.benchmark_group("history/decode_1000");
    g.throughput(Throughput::Bytes(u64::from(raw_len)));
    let mut scratch = vec![0u8; batch.header().scratch_len()];
    g.bench_function("records_no_alloc", |b| {
        b.iter(|| {
            let view = batch.view();
            let mut n = 0;
            for r in view.records(&mut scratch).unwrap() {
                n += black_box(r.unwrap()).payload.len();
            }
            n
        })
    });
    g.bench_function("records_owned", |b| b.iter(|| black_box(batch.records().unwrap().len())));
    g.bench_function("validate", |b| b.iter(|| black_box(batch.view().validate(&mut scratch).unwrap())));
    g.bench_function("validate_two_passes", |b| b.iter(|| two_pass(&mut scratch)));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30)
}

criterion_group! { name = history_benches; config = config(); targets = benches }
criterion_main!(history_benches);
