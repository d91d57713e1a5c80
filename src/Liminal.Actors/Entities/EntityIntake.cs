using Akka.Actor;
using Akka.Event;

namespace Liminal.Actors.Entities;

/// <summary>
/// An entity's side of its <see cref="EntityParent"/>'s hand-over protocol: unwraps the messages the parent numbers,
/// tells the parent how far it has taken them from its mailbox, and when it stops, the last one it took. Everything
/// the parent handed over after that never reached the entity, and the parent answers it (typed, "retry").
/// </summary>
/// <remarks>
/// <para>An entity that stops loses its mailbox: what was still in it, and what was sent to it before its parent
/// learned of the stop, goes to the system's dead letters. Rather than watch those (every dead letter of the actor
/// system, by name), the parent keeps each message it hands over until the entity has reported taking it. The final
/// report is sent while the entity stops, so it reaches the parent before the parent's <c>Terminated</c> (which Akka
/// enqueues only once the entity is gone): the parent then knows exactly which messages the entity never saw.</para>
/// <para>Messages that do not come from the parent (under an Akka.Cluster.Sharding shard region, all of them) pass
/// unchanged and nothing is reported: the entity is hostable by a shard region as it is.</para>
/// <para>Call <see cref="Take"/> where the entity actually handles a message: a persistent entity after recovery (a
/// message stashed during recovery has not been taken), <see cref="TryReport"/> before it, <see cref="Restarting"/>
/// from <c>PreRestart</c> and <see cref="Stopped"/> from <c>AroundPostStop</c> (never <c>PostStop</c>, which a
/// restart also calls); <see cref="Stopping"/> as soon as the entity knows it will stop, before it answers anyone.</para>
/// </remarks>
public sealed class EntityIntake
{
    private long _taken;
    private bool _reportDue;
    private bool _finalSent;

    /// <summary>The message itself: unwrapped and noted as taken when it comes from the parent, else unchanged.</summary>
    public object Take(object message, IActorContext context)
    {
        if (message is not EntityEnvelope envelope)
            return message;
        _taken = envelope.Number;
        if (!_reportDue)
        {
            // Behind whatever is in the mailbox now: one report per mailbox's worth of messages, and a prompt one when idle.
            _reportDue = true;
            context.Self.Tell(ReportIntake.Instance, ActorRefs.NoSender);
        }
        return envelope.Message;
    }

    /// <summary>True when <paramref name="message"/> is the entity's own reminder to report; the report is then sent.</summary>
    public bool TryReport(object message, IActorContext context)
    {
        if (message is not ReportIntake)
            return false;
        _reportDue = false;
        if (_taken > 0)
            context.Parent.Tell(new EntityReceived(_taken, Final: false));
        return true;
    }

    /// <summary>The instance is about to be replaced by a restart (same mailbox, same ref): report what it took.</summary>
    public void Restarting(IActorContext context)
    {
        if (_taken > 0)
            context.Parent.Tell(new EntityReceived(_taken, Final: false));
    }

    /// <summary>
    /// The entity takes nothing more: it is about to stop (a persistent entity whose write failed). The final report
    /// goes now, before the entity answers what it owes, so the parent holds its next messages for the next
    /// incarnation before any sender can learn of the failure and retry.
    /// </summary>
    public void Stopping(IActorContext context)
    {
        if (_taken > 0 && !_finalSent)
            context.Parent.Tell(new EntityReceived(_taken, Final: true));
        _finalSent = true;
    }

    /// <summary>The entity is stopping for good: the last report (unless sent by <see cref="Stopping"/>), which the parent receives before its <c>Terminated</c>.</summary>
    public void Stopped(IActorContext context) => Stopping(context);

    private sealed class ReportIntake : INoSerializationVerificationNeeded, IDeadLetterSuppression
    {
        public static readonly ReportIntake Instance = new();
    }
}

/// <summary>A message an <see cref="EntityParent"/> hands to one incarnation of an entity, numbered from 1 in the order sent.</summary>
internal sealed record EntityEnvelope(long Number, object Message) : INoSerializationVerificationNeeded;

/// <summary>An entity has taken every message its parent handed it up to <paramref name="UpTo"/>; <paramref name="Final"/>: it is stopping.</summary>
internal sealed record EntityReceived(long UpTo, bool Final) : INoSerializationVerificationNeeded, IDeadLetterSuppression;
