using Akka.Actor;

namespace Liminal.Actors.Persistence;

/// <summary>
/// The replies a persistent actor owes for commands whose events (or whose place behind earlier events)
/// are not durable yet, in the order the journal will confirm them. When a write fails, every one of them
/// gets its typed failure instead of silence.
/// </summary>
internal sealed class PendingReplies
{
    private readonly Queue<PendingReply> _queue = new();

    public int Count => _queue.Count;

    public void Enqueue(IActorRef replyTo, object success, object failure) =>
        _queue.Enqueue(new PendingReply(replyTo, success, failure));

    /// <summary>Sends the oldest owed reply: its events are durable now.</summary>
    public void CompleteNext(IActorRef self)
    {
        if (_queue.TryDequeue(out var next))
            next.ReplyTo.Tell(next.Success, self);
    }

    /// <summary>Answers every owed reply with its failure; the events behind them will never be written.</summary>
    public void FailAll(IActorRef self)
    {
        while (_queue.TryDequeue(out var pending))
            pending.ReplyTo.Tell(pending.Failure, self);
    }

    private sealed record PendingReply(IActorRef ReplyTo, object Success, object Failure);
}
