using Akka.Actor;
using Akka.Event;

namespace Liminal.Actors.Entities;

/// <summary>How an entity parent restarts entities that stopped unexpectedly and how much it buffers meanwhile.</summary>
public sealed record EntityParentSettings(TimeSpan MinBackoff, TimeSpan MaxBackoff, int BufferSize)
{
    public static EntityParentSettings Default { get; } = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), 10_000);

    /// <summary>Exponential backoff for the n-th consecutive failure, capped at <see cref="MaxBackoff"/>.</summary>
    public TimeSpan BackoffFor(int consecutiveFailures)
    {
        var factor = Math.Pow(2, Math.Min(consecutiveFailures - 1, 20));
        var delay = TimeSpan.FromTicks((long)Math.Min(MinBackoff.Ticks * factor, MaxBackoff.Ticks));
        return delay < MinBackoff ? MinBackoff : delay;
    }
}

internal sealed record RestartEntity(string EntityId) : INoSerializationVerificationNeeded, IDeadLetterSuppression;

/// <summary>
/// The stop message of a passivated entity: a <see cref="Persistence.PersistentEntity{TEvent}"/> stops once it owes
/// nothing (its writes durable, its replies sent). The entity parent sends it to an idle entity; a shard region hosting
/// the entities is given it as its hand-off stop message (a <c>PoisonPill</c> would stop them mid-write).
/// </summary>
public sealed class StopPassivated : INoSerializationVerificationNeeded
{
    public static readonly StopPassivated Instance = new();

    private StopPassivated() { }
}

/// <summary>The entity parent's periodic look for idle entities; not a message that keeps the parent busy.</summary>
internal sealed class PassivateIdleTick : INoSerializationVerificationNeeded, INotInfluenceReceiveTimeout
{
    public static readonly PassivateIdleTick Instance = new();

    private PassivateIdleTick() { }
}
