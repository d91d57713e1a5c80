using Akka.Actor;

namespace Liminal.Actors.Metrics;

/// <summary>The bus's counters at one moment.</summary>
public sealed record LiminalMetricsSnapshot(
    long Publishes,
    long Deliveries,
    long DuplicatesSuppressed,
    long PublishRejections,
    long Claims,
    long SweepExpirations);

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

    public static LiminalMetrics For(ActorSystem system) => system.WithExtension<LiminalMetrics, LiminalMetricsProvider>();

    public LiminalMetricsSnapshot Snapshot() => new(
        Interlocked.Read(ref _publishes),
        Interlocked.Read(ref _deliveries),
        Interlocked.Read(ref _duplicatesSuppressed),
        Interlocked.Read(ref _publishRejections),
        Interlocked.Read(ref _claims),
        Interlocked.Read(ref _sweepExpirations));

    internal void Published(int deliveredCount)
    {
        Interlocked.Increment(ref _publishes);
        Interlocked.Add(ref _deliveries, deliveredCount);
    }

    internal void DuplicateSuppressed() => Interlocked.Increment(ref _duplicatesSuppressed);

    internal void PublishRejected() => Interlocked.Increment(ref _publishRejections);

    internal void Claimed() => Interlocked.Increment(ref _claims);

    internal void Expired(int count) => Interlocked.Add(ref _sweepExpirations, count);
}

internal sealed class LiminalMetricsProvider : ExtensionIdProvider<LiminalMetrics>
{
    public override LiminalMetrics CreateExtension(ExtendedActorSystem system) => new();
}
