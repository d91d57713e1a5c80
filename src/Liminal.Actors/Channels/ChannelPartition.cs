using Akka.Actor;
using Akka.Event;
using Akka;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams.Dsl;
using Akka.Streams;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>Appends a message to a durable partition and hands it to the given subscribers once durable.</summary>
public sealed record AppendToPartition(MessageEnvelope Envelope, IActorRef[] Subscribers, string? IdempotencyKey = null)
    : INoSerializationVerificationNeeded;

/// <summary>Asks whether a message with this idempotency key was stored before this partition last started.</summary>
public sealed record FindStoredKey(string Key) : INoSerializationVerificationNeeded;

/// <summary><c>SequenceNr</c> is null when no such message was stored.</summary>
public sealed record StoredKey(string Key, long? SequenceNr) : INoSerializationVerificationNeeded;

/// <summary>The partition could not read its log to tell.</summary>
public sealed record StoredKeyUnknown(string Key) : INoSerializationVerificationNeeded;

/// <summary>The message is durable at <c>SequenceNr</c> and was handed to <c>DeliveredCount</c> subscribers.</summary>
public sealed record PartitionAppended(long SequenceNr, int DeliveredCount) : INoSerializationVerificationNeeded;

/// <summary>The append was not stored.</summary>
public sealed record PartitionAppendFailed(string Detail) : INoSerializationVerificationNeeded;

/// <summary>
/// One partition of a durable channel (PersistenceId <c>channel-{name}-{partition}</c>): its journal is the
/// partition's log and the sequence number is the position. Appends are group-committed; subscribers are handed
/// each message after it is durable, in sequence order.
/// </summary>
public sealed class ChannelPartition : PersistentEntity<MessageAppended>
{
    private readonly string _channel;
    private readonly int _partition;
    // Keys of the messages stored before this incarnation started, read from the log's tail on first need.
    private Dictionary<string, long>? _tailKeys;
    private readonly List<(IActorRef ReplyTo, string Key)> _awaitingTail = [];
    private long _highestAtStart;

    /// <summary>How far back from its last message a partition looks for the message of a key claimed by a dead process.</summary>
    public const long OrphanScanWindow = 100_000;

    public ChannelPartition(string channel, int partition)
    {
        _channel = channel;
        _partition = partition;
        PersistenceId = PersistenceIdOf(channel, partition);
    }

    public static string PersistenceIdOf(string channel, int partition) => $"channel-{channel}-{partition}";

    /// <summary>The stored messages of a partition from one sequence number to another, read from the SQL journal.</summary>
    public static Source<EventEnvelope, NotUsed> ReadLog(ActorSystem system, string channel, int partition, long fromSequenceNr, long toSequenceNr) =>
        PersistenceQuery.Get(system)
            .ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByPersistenceId(PersistenceIdOf(channel, partition), Math.Max(1, fromSequenceNr), toSequenceNr);

    public static Props Props(string channel, int partition) =>
        Akka.Actor.Props.Create(() => new ChannelPartition(channel, partition));

    public override string PersistenceId { get; }

    /// <summary>The log is read by replay queries, not by the actor: it needs only the highest sequence number.</summary>
    public override Recovery Recovery => Recovery.None;

    protected override long SnapshotEvery => long.MaxValue;

    protected override void RestoreSnapshot(object snapshot) { }

    protected override void Apply(MessageAppended @event) { }

    protected override object Snapshot() => throw new NotSupportedException("channel partitions keep no snapshot");

    protected override void OnRecovered() => _highestAtStart = LastSequenceNr;

    // Appends depend on no state but the sequence number the journal gives them: they never wait.
    protected override Conflict ConflictOf(object command) => Conflict.None;

    protected override bool OnOtherMessage(object message)
    {
        switch (message)
        {
            case FindStoredKey find:
                FindKey(find.Key, Sender);
                return true;
            case TailIndexed { Error: { } error }:
                // Unknown whether the dead process stored them: keep those keys in flight (until their TTL) rather
                // than risk delivering a message twice; a later publish of them tries again.
                Log.Error(error, "Reading the tail of {0} failed", PersistenceId);
                foreach (var (replyTo, key) in _awaitingTail)
                    replyTo.Tell(new StoredKeyUnknown(key));
                _awaitingTail.Clear();
                return true;
            case TailIndexed indexed:
                _tailKeys = indexed.Keys;
                foreach (var (replyTo, key) in _awaitingTail)
                    FindKey(key, replyTo);
                _awaitingTail.Clear();
                return true;
            default:
                return false;
        }
    }

    protected override void Decide(object command, IActorRef sender)
    {
        if (command is not AppendToPartition append)
        {
            Unhandled(command);
            return;
        }
        Persist([MessageAppended.From(append.Envelope, append.IdempotencyKey)], command, sender, sequenceNr =>
        {
            // Durable: hand it to the subscribers, in sequence order (handlers run in write order).
            var delivery = new Delivery(_channel, _partition, sequenceNr, append.Envelope);
            foreach (var subscriber in append.Subscribers)
                subscriber.Tell(delivery, ActorRefs.NoSender);
            return new PartitionAppended(sequenceNr, append.Subscribers.Length);
        });
    }

    protected override object FailureFor(object command, string detail) => new PartitionAppendFailed(detail);

    /// <summary>
    /// A key claimed by a process that died may or may not have its message here; such messages can only be
    /// among those stored before this incarnation, near the end of the log, so only that tail is read (once).
    /// </summary>
    private void FindKey(string key, IActorRef replyTo)
    {
        if (_tailKeys is not null)
        {
            replyTo.Tell(new StoredKey(key, _tailKeys.TryGetValue(key, out var sequenceNr) ? sequenceNr : null));
            return;
        }
        _awaitingTail.Add((replyTo, key));
        if (_awaitingTail.Count > 1)
            return;
        // Read through the journal actor itself, so it works on every journal (no query plugin needed).
        Context.ActorOf(Akka.Actor.Props.Create(() => new TailReader(
            Akka.Persistence.Persistence.Instance.Apply(Context.System).JournalFor(JournalPluginId),
            PersistenceId, Math.Max(1, _highestAtStart - OrphanScanWindow + 1), _highestAtStart)));
    }

    /// <summary>Replays a range of the partition's log from the journal and tells its parent the keys in it.</summary>
    private sealed class TailReader(IActorRef journal, string persistenceId, long from, long to) : UntypedActor
    {
        private readonly Dictionary<string, long> _keys = new(StringComparer.Ordinal);

        protected override void PreStart() =>
            journal.Tell(new ReplayMessages(from, to, long.MaxValue, persistenceId, Self));

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case ReplayedMessage { Persistent.Payload: MessageAppended { IdempotencyKey: { } key } } replayed:
                    _keys[key] = replayed.Persistent.SequenceNr;
                    break;
                case ReplayedMessage:
                    break;
                case RecoverySuccess:
                    Context.Parent.Tell(new TailIndexed(_keys, null));
                    Context.Stop(Self);
                    break;
                case ReplayMessagesFailure failure:
                    Context.Parent.Tell(new TailIndexed(_keys, failure.Cause));
                    Context.Stop(Self);
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }
    }

    private sealed record TailIndexed(Dictionary<string, long> Keys, Exception? Error) : INoSerializationVerificationNeeded;
}
