using Akka.Actor;
using Akka.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>The first message a partition's journal holds from <c>From</c> to <c>To</c> is <c>FirstRetained</c> (<c>To + 1</c> when it holds none).</summary>
internal sealed record FirstRetainedFound(long FirstRetained) : INoSerializationVerificationNeeded;

internal sealed record FirstRetainedNotFound(long From, long To, string Reason) : INoSerializationVerificationNeeded;

/// <summary>
/// Asks the journal, with Akka.Persistence's own replay protocol (one message at most), for the first message of a
/// partition it still holds in a range, and tells its parent; deleted messages are never replayed, so that is where
/// the log starts. Stops once it has answered.
/// </summary>
internal sealed class FirstRetainedQuery : ReceiveActor
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public FirstRetainedQuery(IActorRef journal, string persistenceId, long from, long to)
    {
        long? first = null;
        journal.Tell(new ReplayMessages(from, to, 1, persistenceId, Self));
        Context.SetReceiveTimeout(Timeout);
        Receive<ReplayedMessage>(replayed => first ??= replayed.Persistent.SequenceNr);
        Receive<RecoverySuccess>(_ => Answer(new FirstRetainedFound(first ?? to + 1)));
        Receive<ReplayMessagesFailure>(failure => Answer(new FirstRetainedNotFound(from, to, failure.Cause.Message)));
        Receive<ReceiveTimeout>(_ => Answer(new FirstRetainedNotFound(from, to, $"the journal did not answer within {Timeout}")));
    }

    public static Props Props(IActorRef journal, string persistenceId, long from, long to) =>
        Akka.Actor.Props.Create(() => new FirstRetainedQuery(journal, persistenceId, from, to));

    private void Answer(object answer)
    {
        Context.Parent.Tell(answer);
        Context.Stop(Self);
    }
}
