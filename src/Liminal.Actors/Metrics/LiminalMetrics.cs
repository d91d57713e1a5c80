using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Metrics;

/// <summary>
/// The bus's instruments on the <c>System.Diagnostics.Metrics</c> meter <see cref="MeterName"/>, one meter per actor
/// system, exported by whatever listens to it (the host: OpenTelemetry's Prometheus endpoint and OTLP). The instrument
/// names are a contract: the README lists them with their Prometheus names.
/// </summary>
public sealed class LiminalMetrics : IExtension
{
    /// <summary>The meter every instrument of the bus is on.</summary>
    public const string MeterName = "Liminal";

    /// <summary>Publishes stored (durable) or handed out (ephemeral), duplicates not counted; tag <c>channel</c>.</summary>
    public const string Publishes = "liminal.publishes";

    /// <summary>Messages handed to subscribers; tag <c>channel</c>.</summary>
    public const string Deliveries = "liminal.deliveries";

    /// <summary>Keyed publishes answered as duplicates, never delivered; tag <c>channel</c>.</summary>
    public const string DuplicatesSuppressed = "liminal.duplicates_suppressed";

    /// <summary>Publishes answered with <see cref="PublishRejected"/>; tag <c>reason</c> (a <see cref="PublishFailure"/> name).</summary>
    public const string PublishRejections = "liminal.publish_rejections";

    /// <summary>Idempotency keys claimed in the dedup key space.</summary>
    public const string Claims = "liminal.claims";

    /// <summary>Idempotency keys expired by dedup sweeps.</summary>
    public const string SweepExpirations = "liminal.sweep_expirations";

    /// <summary>Keys evicted from full channel dedup windows (a re-publish of one is stored again); tag <c>channel</c>.</summary>
    public const string DedupWindowEvictions = "liminal.dedup_window_evictions";

    /// <summary>Keys evicted from full dedup shards (<c>liminal.dedup.max-keys-per-shard</c>).</summary>
    public const string DedupKeyEvictions = "liminal.dedup_key_evictions";

    /// <summary>Duration of journal writes (each a group commit of many events), in seconds.</summary>
    public const string JournalWrite = "liminal.journal.write";

    /// <summary>Keys a channel partition's dedup window holds; tags <c>channel</c>, <c>partition</c>.</summary>
    public const string DedupWindowKeys = "liminal.dedup_window_keys";

    /// <summary>Keys a dedup shard holds; tags <c>namespace</c>, <c>shard</c>.</summary>
    public const string DedupKeys = "liminal.dedup_keys";

    /// <summary>Publishes a channel partition has taken on and not yet answered; tags <c>channel</c>, <c>partition</c>.</summary>
    public const string PublishesInFlight = "liminal.publishes_in_flight";

    /// <summary>Messages a durable consumer's members acked; tags <c>channel</c>, <c>consumer</c>.</summary>
    public const string ConsumerAcks = "liminal.consumer.acks";

    /// <summary>Deliveries of a durable consumer after the first of a message; tags <c>channel</c>, <c>consumer</c>.</summary>
    public const string ConsumerRedeliveries = "liminal.consumer.redeliveries";

    /// <summary>Messages a durable consumer sent to its dead-letter channel (or parked); tags <c>channel</c>, <c>consumer</c>.</summary>
    public const string ConsumerDeadLetters = "liminal.consumer.dead_lettered";

    /// <summary>Messages stored and not yet done for a durable consumer (last stored − ack floor); tags <c>channel</c>, <c>consumer</c>, <c>partition</c>.</summary>
    public const string ConsumerLag = "liminal.consumer.lag";

    /// <summary>Messages out to a durable consumer's members and not acked; tags <c>channel</c>, <c>consumer</c>, <c>partition</c>.</summary>
    public const string ConsumerPending = "liminal.consumer.pending";

    private static readonly double[] WriteBoundsSeconds = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private readonly Counter<long> _publishes;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _duplicatesSuppressed;
    private readonly Counter<long> _publishRejections;
    private readonly Counter<long> _claims;
    private readonly Counter<long> _sweepExpirations;
    private readonly Counter<long> _dedupWindowEvictions;
    private readonly Counter<long> _dedupKeyEvictions;
    private readonly Histogram<double> _journalWrite;
    private readonly Counter<long> _consumerAcks;
    private readonly Counter<long> _consumerRedeliveries;
    private readonly Counter<long> _consumerDeadLetters;
    private readonly ConcurrentDictionary<Gauge, byte> _consumerLag = new();
    private readonly ConcurrentDictionary<Gauge, byte> _consumerPending = new();
    // The gauges' values, each written by the one actor that owns it and read by the meter's listener when it observes.
    private readonly ConcurrentDictionary<Gauge, byte> _windowKeys = new();
    private readonly ConcurrentDictionary<Gauge, byte> _dedupKeys = new();
    private readonly ConcurrentDictionary<Gauge, byte> _inFlight = new();

    internal LiminalMetrics()
    {
        // A meter per actor system: a listener (a test, a host) tells the systems of one process apart by it.
        Meter = new Meter(MeterName, typeof(LiminalMetrics).Assembly.GetName().Version?.ToString());
        _publishes = Meter.CreateCounter<long>(Publishes, description: "Publishes stored (durable channel) or handed out (ephemeral), duplicates not counted.");
        _deliveries = Meter.CreateCounter<long>(Deliveries, description: "Messages handed to subscribers.");
        _duplicatesSuppressed = Meter.CreateCounter<long>(DuplicatesSuppressed, description: "Keyed publishes answered as duplicates, never delivered.");
        _publishRejections = Meter.CreateCounter<long>(PublishRejections, description: "Publishes rejected with PublishRejected, by reason.");
        _claims = Meter.CreateCounter<long>(Claims, description: "Idempotency keys claimed.");
        _sweepExpirations = Meter.CreateCounter<long>(SweepExpirations, description: "Idempotency keys expired by sweeps.");
        _dedupWindowEvictions = Meter.CreateCounter<long>(DedupWindowEvictions,
            description: "Keys evicted from full channel dedup windows (a re-publish of one is stored again).");
        _dedupKeyEvictions = Meter.CreateCounter<long>(DedupKeyEvictions, description: "Keys evicted from full dedup shards.");
        _journalWrite = Meter.CreateHistogram(JournalWrite, unit: "s", description: "Duration of journal writes (group commits).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WriteBoundsSeconds });
        _consumerAcks = Meter.CreateCounter<long>(ConsumerAcks, description: "Messages a durable consumer's members acked.");
        _consumerRedeliveries = Meter.CreateCounter<long>(ConsumerRedeliveries, description: "Deliveries of a durable consumer after the first of a message.");
        _consumerDeadLetters = Meter.CreateCounter<long>(ConsumerDeadLetters, description: "Messages a durable consumer dead-lettered (or parked).");
        Meter.CreateObservableGauge(ConsumerLag, () => Observe(_consumerLag), description: "Messages stored and not yet done for a durable consumer.");
        Meter.CreateObservableGauge(ConsumerPending, () => Observe(_consumerPending), description: "Messages out to a durable consumer's members and not acked.");
        Meter.CreateObservableGauge(DedupWindowKeys, () => Observe(_windowKeys), description: "Keys a channel partition's dedup window holds.");
        Meter.CreateObservableGauge(DedupKeys, () => Observe(_dedupKeys), description: "Keys a dedup shard holds.");
        Meter.CreateObservableGauge(PublishesInFlight, () => Observe(_inFlight), description: "Publishes a channel partition has taken on and not yet answered.");
        // Not disposed when the system terminates: OpenTelemetry merges the same instrument of every meter named Liminal
        // into one stream and ends that stream when any of them is disposed, so a terminated system (another test, a
        // client) would silence the live one. A terminated system's instruments record nothing and its gauges are empty.
    }

    /// <summary>This actor system's meter.</summary>
    public Meter Meter { get; }

    public static LiminalMetrics For(ActorSystem system) => system.WithExtension<LiminalMetrics, LiminalMetricsProvider>();

    /// <summary>Starts reading this system's instruments in process (dispose to stop).</summary>
    public MetricTotals Listen() => new(Meter);

    private static IEnumerable<Measurement<long>> Observe(ConcurrentDictionary<Gauge, byte> gauges) =>
        gauges.Keys.Select(gauge => new Measurement<long>(gauge.Value, gauge.Tags));

    internal void JournalWritten(TimeSpan duration) => _journalWrite.Record(duration.TotalSeconds);

    internal void Published(string channel, int deliveredCount)
    {
        var tag = new KeyValuePair<string, object?>("channel", channel);
        _publishes.Add(1, tag);
        if (deliveredCount > 0)
            _deliveries.Add(deliveredCount, tag);
    }

    internal void DuplicateSuppressed(string channel) => _duplicatesSuppressed.Add(1, new KeyValuePair<string, object?>("channel", channel));

    // The reason only: a rejected publish may name a channel that does not exist, and any name would become a series.
    internal void PublishRejected(PublishFailure reason) => _publishRejections.Add(1, new KeyValuePair<string, object?>("reason", (uint)reason < ReasonNames.Length ? ReasonNames[(int)reason] : reason.ToString()));

    internal void Claimed() => _claims.Add(1);

    internal void ConsumerAcked(string channel, string consumer) => _consumerAcks.Add(1, ConsumerTags(channel, consumer));

    internal void ConsumerRedelivered(string channel, string consumer) => _consumerRedeliveries.Add(1, ConsumerTags(channel, consumer));

    internal void ConsumerDeadLettered(string channel, string consumer) => _consumerDeadLetters.Add(1, ConsumerTags(channel, consumer));

    private static KeyValuePair<string, object?>[] ConsumerTags(string channel, string consumer) => [new("channel", channel), new("consumer", consumer)];

    /// <summary>The lag and pending count of one consumer partition, until <see cref="Gauge.Dispose"/>.</summary>
    internal (Gauge Lag, Gauge Pending) ConsumerGauges(string channel, string consumer, int partition)
    {
        KeyValuePair<string, object?>[] tags = [new("channel", channel), new("consumer", consumer), new("partition", partition)];
        return (new Gauge(_consumerLag, tags), new Gauge(_consumerPending, tags));
    }

    internal void DedupWindowEvicted(string channel, int count) => _dedupWindowEvictions.Add(count, new KeyValuePair<string, object?>("channel", channel));

    internal void DedupKeysEvicted(int count) => _dedupKeyEvictions.Add(count);

    internal void Expired(int count) => _sweepExpirations.Add(count);

    /// <summary>The window size and publishes in flight of one channel partition, until <see cref="Gauge.Dispose"/>.</summary>
    internal (Gauge WindowKeys, Gauge InFlight) PartitionGauges(string channel, int partition)
    {
        KeyValuePair<string, object?>[] tags = [new("channel", channel), new("partition", partition)];
        return (new Gauge(_windowKeys, tags), new Gauge(_inFlight, tags));
    }

    /// <summary>The key count of one dedup shard, until <see cref="Gauge.Dispose"/>.</summary>
    internal Gauge DedupShardGauge(string dedupNamespace, int shard) =>
        new(_dedupKeys, [new("namespace", dedupNamespace), new("shard", shard)]);

    private static readonly string[] ReasonNames = Enum.GetNames<PublishFailure>();

    /// <summary>One observed value: set by its actor, read when the gauge is observed, gone once disposed (the actor stopped).</summary>
    internal sealed class Gauge : IDisposable
    {
        private readonly ConcurrentDictionary<Gauge, byte> _set;
        private long _value;

        public Gauge(ConcurrentDictionary<Gauge, byte> set, KeyValuePair<string, object?>[] tags)
        {
            _set = set;
            Tags = tags;
            set.TryAdd(this, 0);
        }

        public KeyValuePair<string, object?>[] Tags { get; }

        public long Value
        {
            get => Volatile.Read(ref _value);
            set => Volatile.Write(ref _value, value);
        }

        public void Dispose() => _set.TryRemove(this, out _);
    }
}

internal sealed class LiminalMetricsProvider : ExtensionIdProvider<LiminalMetrics>
{
    public override LiminalMetrics CreateExtension(ExtendedActorSystem system) => new();
}
