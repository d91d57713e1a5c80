using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using HdrHistogram;
using Liminal.Actors.Channels;

namespace Liminal.Bench;

/// <summary>
/// Keyed publishes from many concurrent publishers to one durable channel with 3 subscribers; a share of the
/// keys repeat. Measures publishes/s and publish-to-delivery latency at the subscribers.
/// </summary>
internal static class PublishBench
{
    public static async Task RunAsync(BenchOptions options)
    {
        var publishers = options.Int("publishers", 1000);
        var total = options.Int("publishes", 100_000);
        var duplicateShare = options.Double("duplicates", 0.1);
        var system = BenchSystem.Create(options.DatabasePath("publish"), options.Hocon, options.PostgreSql);
        try
        {
            var raw = await RawJournalBench.EventsPerSecondAsync(system, total);
            Console.WriteLine($"raw journal, 1 actor PersistAsync:     {raw,10:N0} events/s");
            var bus = BenchSystem.StartWithOrders(system);

            var latency = new LongConcurrentHistogram(1, TimeStamp.Seconds(60), 3);
            var subscribers = Enumerable.Range(0, 3).Select(_ => system.ActorOf(Props.Create(() => new LatencySubscriber(latency)))).ToList();
            foreach (var subscriber in subscribers)
                await bus.Channels.Ask<Subscribed>(new Subscribe(BenchSystem.Orders, subscriber), TimeSpan.FromSeconds(10));
            await bus.Channels.Ask<PublishAck>(new Publish(BenchSystem.Orders, Payload("warm-up")), TimeSpan.FromSeconds(30));

            var keys = new string?[total];
            var keyCount = 0;
            var outcomes = new ConcurrentDictionary<string, int>();
            var next = -1;
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, publishers).Select(p => Task.Run(async () =>
            {
                var random = new Random(p);
                int n;
                while ((n = Interlocked.Increment(ref next)) < total)
                {
                    var known = Volatile.Read(ref keyCount);
                    var key = known > 0 && random.NextDouble() < duplicateShare ? Volatile.Read(ref keys[random.Next(known)]) ?? $"k-{n}" : $"k-{n}";
                    var reply = await bus.Channels.Ask<object>(new Publish(BenchSystem.Orders, Payload(key), key), TimeSpan.FromSeconds(30));
                    var outcome = reply switch
                    {
                        PublishAck { Duplicate: true } => "duplicate",
                        PublishAck => "delivered",
                        _ => reply.GetType().Name,
                    };
                    outcomes.AddOrUpdate(outcome, 1, (_, c) => c + 1);
                    if (outcome == "delivered")
                        Volatile.Write(ref keys[Interlocked.Increment(ref keyCount) - 1], key);
                }
            })));
            stopwatch.Stop();

            Console.WriteLine($"publish, {publishers} publishers, 3 subscribers: {total / stopwatch.Elapsed.TotalSeconds,10:N0} keyed publishes/s " +
                              $"({total:N0} in {stopwatch.Elapsed.TotalSeconds:F1} s; " +
                              string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value:N0}")) + ")");
            Console.WriteLine($"publish->delivery latency: p50 {Ms(latency, 50)} ms, p99 {Ms(latency, 99)} ms, p99.9 {Ms(latency, 99.9)} ms " +
                              $"({latency.TotalCount:N0} deliveries)");
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static MessageEnvelope Payload(string key) =>
        new(Encoding.UTF8.GetBytes($$"""{"orderId":"{{key}}","sentAt":{{Stopwatch.GetTimestamp()}}}"""), "bench");

    private sealed class LatencySubscriber : ReceiveActor
    {
        public LatencySubscriber(LongConcurrentHistogram latency)
        {
            Receive<Delivery>(delivery =>
            {
                using var json = JsonDocument.Parse(delivery.Envelope.Payload);
                latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - json.RootElement.GetProperty("sentAt").GetInt64()));
            });
        }
    }

    private static string Ms(HistogramBase histogram, double percentile) =>
        (histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency).ToString("F1");
}
