using Akka.Actor;

namespace Liminal.Actors.Metrics;

/// <summary>The bus's counters at one moment.</summary>
public sealed record LiminalMetricsSnapshot(
    long Publishes,
    long Deliveries,
    long DuplicatesSuppressed,
    long PublishRejections,
    long Claims,
    long SweepExpirations,
    JournalWriteHistogram JournalWrites)
{
    /// <summary>Keys evicted from full channel dedup windows (a re-publish of one is stored again).</summary>
    public long DedupWindowEvictions { get; init; }
}

/// <summary>Durations of journal writes (each a group commit of many actors' events), in cumulative buckets.</summary>
public sealed record JournalWriteHistogram(double[] UpperBoundsSeconds, long[] CumulativeCounts, long Count, double SumSeconds)
{
    public bool Equals(JournalWriteHistogram? other) =>
        other is not null && Count == other.Count && SumSeconds.Equals(other.SumSeconds)
        && CumulativeCounts.AsSpan().SequenceEqual(other.CumulativeCounts);

    public override int GetHashCode() => HashCode.Combine(Count, SumSeconds);
}

/// <summary>
/// Counters the bus keeps for the host to expose (one set per actor system): publishes acknowledged, messages
/// handed to subscribers, duplicate publishes suppressed, publishes rejected, keys claimed, keys expired by sweeps.
/// </summary>
public sealed class LiminalMetrics : IExtension
{
    private long _publishes;
    private long _deliveries;
    private long _duplicatesSuppressed;
    private long _publishRejections;
    private long _claims;
    private long _sweepExpirations;
    private long _dedupWindowEvictions;

    private static readonly double[] WriteBoundsSeconds = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    private readonly long[] _writeBuckets = new long[WriteBoundsSeconds.Length + 1];
    private long _writeCount;
    private long _writeMicros;

    public static LiminalMetrics For(ActorSystem system) => system.WithExtension<LiminalMetrics, LiminalMetricsProvider>();

    public LiminalMetricsSnapshot Snapshot() => new(
        Interlocked.Read(ref _publishes),
        Interlocked.Read(ref _deliveries),
        Interlocked.Read(ref _duplicatesSuppressed),
        Interlocked.Read(ref _publishRejections),
        Interlocked.Read(ref _claims),
        Interlocked.Read(ref _sweepExpirations),
        JournalWritesSnapshot())
    {
        DedupWindowEvictions = Interlocked.Read(ref _dedupWindowEvictions),
    };

    private JournalWriteHistogram JournalWritesSnapshot()
    {
        var cumulative = new long[WriteBoundsSeconds.Length];
        long running = 0;
        for (var i = 0; i < WriteBoundsSeconds.Length; i++)
            cumulative[i] = running += Interlocked.Read(ref _writeBuckets[i]);
        return new JournalWriteHistogram(WriteBoundsSeconds, cumulative, Interlocked.Read(ref _writeCount),
            Interlocked.Read(ref _writeMicros) / 1_000_000.0);
    }

    internal void JournalWritten(TimeSpan duration)
    {
        var seconds = duration.TotalSeconds;
        var bucket = Array.FindIndex(WriteBoundsSeconds, bound => seconds <= bound);
        Interlocked.Increment(ref _writeBuckets[bucket < 0 ? WriteBoundsSeconds.Length : bucket]);
        Interlocked.Increment(ref _writeCount);
        Interlocked.Add(ref _writeMicros, (long)(seconds * 1_000_000));
    }

    internal void Published(int deliveredCount)
    {
        Interlocked.Increment(ref _publishes);
        Interlocked.Add(ref _deliveries, deliveredCount);
    }

    internal void DuplicateSuppressed() => Interlocked.Increment(ref _duplicatesSuppressed);

    internal void PublishRejected() => Interlocked.Increment(ref _publishRejections);

    internal void Claimed() => Interlocked.Increment(ref _claims);

    internal void DedupWindowEvicted(int count) => Interlocked.Add(ref _dedupWindowEvictions, count);

    internal void Expired(int count) => Interlocked.Add(ref _sweepExpirations, count);
}

internal sealed class LiminalMetricsProvider : ExtensionIdProvider<LiminalMetrics>
{
    public override LiminalMetrics CreateExtension(ExtendedActorSystem system) => new();
}
