using Akka.Actor;

namespace Liminal.Actors.Persistence;

/// <summary>
/// Group commit for a persistent actor: the events of every command decided while a journal write is in flight
/// are collected into the next batch, written as one atomic write when the current one completes. Each command's
/// reply is sent once its batch is durable; a reply that persists nothing waits only for the batches already
/// holding events it may rest on. On a failed write every owed reply gets its typed failure instead.
/// </summary>
internal sealed class WriteBatcher<TEvent>
{
    private Batch _open = new();
    private Batch? _writing;

    /// <summary>True while any decided event is not durable yet.</summary>
    public bool HasPendingWrites => _writing is not null || _open.Events.Count > 0;

    /// <summary>Adds a command's events and the reply owed once they are durable.</summary>
    public void Add(IReadOnlyList<TEvent> events, IActorRef replyTo, object reply, object failure)
    {
        _open.Events.AddRange(events);
        _open.Replies.Add(new OwedReply(replyTo, reply, failure));
    }

    /// <summary>
    /// Sends <paramref name="reply"/> now when nothing is pending, else once the latest batch holding events is
    /// durable: the decision may rest on those events.
    /// </summary>
    public void ReplyWhenDurable(IActorRef self, IActorRef replyTo, object reply, object failure)
    {
        var latest = _open.Events.Count > 0 ? _open : _writing;
        if (latest is null)
            replyTo.Tell(reply, self);
        else
            latest.Replies.Add(new OwedReply(replyTo, reply, failure));
    }

    /// <summary>The next batch to write, when no write is in flight and events are waiting; null otherwise.</summary>
    public IReadOnlyList<TEvent>? TakeNextBatch()
    {
        if (_writing is not null || _open.Events.Count == 0)
            return null;
        _writing = _open;
        _open = new Batch();
        return _writing.Events;
    }

    /// <summary>The batch in flight is durable: answer everyone it owes.</summary>
    public void Written(IActorRef self)
    {
        if (_writing is null)
            return;
        foreach (var owed in _writing.Replies)
            owed.ReplyTo.Tell(owed.Reply, self);
        _writing = null;
    }

    /// <summary>The write failed and the actor stops: every owed reply gets its failure.</summary>
    public void FailAll(IActorRef self)
    {
        foreach (var batch in new[] { _writing, _open })
        foreach (var owed in batch?.Replies ?? [])
            owed.ReplyTo.Tell(owed.Failure, self);
        _writing = null;
        _open = new Batch();
    }

    private sealed class Batch
    {
        public List<TEvent> Events { get; } = [];
        public List<OwedReply> Replies { get; } = [];
    }

    private sealed record OwedReply(IActorRef ReplyTo, object Reply, object Failure);
}
