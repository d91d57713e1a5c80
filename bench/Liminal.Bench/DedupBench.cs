using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using HdrHistogram;
using Liminal.Actors;
using Liminal.Actors.Dedup;

namespace Liminal.Bench;

/// <summary>
/// N concurrent clients each claim a key, complete it with a receipt when they won the claim, and move on;
/// a share of the claims repeat an already completed key (they must come back <c>Completed</c>).
/// </summary>
internal static class DedupBench
{
    public static async Task RunAsync(BenchOptions options)
    {
        var clients = options.Int("clients", 1000);
        var claims = options.Int("claims", 200_000);
        var duplicateShare = options.Double("duplicates", 0.1);
        var defaults = new LiminalSettings();
        var shards = options.Int("shards", defaults.DedupShards);
        var path = options.DatabasePath("dedup");

        var snapshotEvery = options.Int("snapshot-every", defaults.SnapshotEvery);
        var system = BenchSystem.Create(path, options.Hocon, options.PostgreSql);
        try
        {
            await RuntimeReport.WarmUpAsync("raw journal", _ => RawJournalBench.EventsPerSecondAsync(system, claims / 5));
            var raw = await RawJournalBench.EventsPerSecondAsync(system, claims);
            Console.WriteLine($"raw journal, 1 actor PersistAsync: {raw,10:N0} events/s");

            var bus = LiminalBus.Start(system, new LiminalSettings { DedupShards = shards, SnapshotEvery = snapshotEvery });
            await AwaitShardsRecoveredAsync(bus.Dedup, shards);
            await RuntimeReport.WarmUpAsync("dedup", round =>
                RunClientsAsync(bus.Dedup, clients, claims / 5, duplicateShare, $"warm-up-{round}", new LongConcurrentHistogram(1, TimeStamp.Seconds(60), 3)));

            var histogram = new LongConcurrentHistogram(1, TimeStamp.Seconds(60), 3);
            var runtime = RuntimeReport.Start();
            using var totals = Liminal.Actors.Metrics.LiminalMetrics.For(system).Listen();
            var stopwatch = Stopwatch.StartNew();
            var outcomes = await RunClientsAsync(bus.Dedup, clients, claims, duplicateShare, "key", histogram);
            stopwatch.Stop();

            var claimsPerSecond = claims / stopwatch.Elapsed.TotalSeconds;
            Console.WriteLine($"dedup, {clients} clients, {shards} shards, snapshot every {snapshotEvery}: {claimsPerSecond,10:N0} claims/s " +
                              $"({claims:N0} claims in {stopwatch.Elapsed.TotalSeconds:F1} s; outcomes: " +
                              string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value:N0}")) + ")");
            Console.WriteLine($"claim latency: p50 {Ms(histogram, 50)} ms, p99 {Ms(histogram, 99)} ms, " +
                              $"p99.9 {Ms(histogram, 99.9)} ms, max {histogram.GetMaxValue() * 1000.0 / Stopwatch.Frequency:F1} ms");
            Console.WriteLine(runtime);
            var (writes, writeSeconds) = totals.Histogram(Liminal.Actors.Metrics.LiminalMetrics.JournalWrite);
            Console.WriteLine($"journal: {writes:N0} writes by the entities, {writeSeconds * 1000 / writes:F2} ms mean from write to durable, " +
                              $"{(double)claims / writes:F1} claims per write");
            Console.WriteLine($"claims/s vs raw events/s: {claimsPerSecond / raw:P0} " +
                              "(each new key writes two events: its claim and its receipt)");
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>Clients claim (and complete) <paramref name="claims"/> keys; returns how many got each decision.</summary>
    private static async Task<IReadOnlyDictionary<string, int>> RunClientsAsync(
        IActorRef dedup, int clients, int claims, double duplicateShare, string keyPrefix, LongConcurrentHistogram histogram)
    {
        // Keys completed so far, for the duplicate share (a plain array: ConcurrentBag's cross-thread peeks lock).
        var completed = new string?[claims];
        var completedCount = 0;
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            int n;
            while ((n = Interlocked.Increment(ref next)) < claims)
            {
                var known = Volatile.Read(ref completedCount);
                var duplicate = known > 0 && random.NextDouble() < duplicateShare ? Volatile.Read(ref completed[random.Next(known)]) : null;
                var key = duplicate ?? $"{keyPrefix}-{n}";
                var started = Stopwatch.GetTimestamp();
                var decision = await dedup.Ask<object>(new ClaimOrGet(key), TimeSpan.FromSeconds(30));
                histogram.RecordValue(Stopwatch.GetTimestamp() - started);
                outcomes.AddOrUpdate(decision.GetType().Name, 1, (_, count) => count + 1);
                if (decision is DedupDecision.Claimed)
                {
                    await dedup.Ask<ReceiptStored>(new CompleteReceipt(key, new ProcessingReceipt([1])), TimeSpan.FromSeconds(30));
                    Volatile.Write(ref completed[Interlocked.Increment(ref completedCount) - 1], key);
                }
            }
        })));
        return outcomes;
    }

    private static async Task AwaitShardsRecoveredAsync(IActorRef dedup, int shards)
    {
        // Eight lookups per shard, spread by the key hash: all but surely every shard has recovered before the clock starts.
        for (var i = 0; i < shards * 8; i++)
            await dedup.Ask<KeyStatus>(new LookupKey($"recovered-{i}"), TimeSpan.FromMinutes(1));
    }

    private static string Ms(HistogramBase histogram, double percentile) =>
        (histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency).ToString("F1");
}
