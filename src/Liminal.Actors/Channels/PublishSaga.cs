using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Liminal.Actors.Dedup;

namespace Liminal.Actors.Channels;

/// <summary>
/// Carries one publish through the path of SPEC §2.4: claim the key, persist (durable channels), hand the message
/// to the subscribers, complete the key with a receipt, answer the publisher. A failed journal write may still have
/// been stored, so a failure is never taken as "not written": after a failed append the partition's log is read
/// (once the partition has recovered) and the key is completed with the stored message's receipt, or released only
/// when the message is not there; after a failed claim only this publish's own claim is released. A receipt that
/// cannot be stored after a successful delivery does not fail the publish: the publisher gets its ack and the saga
/// retries the receipt.
/// </summary>
internal sealed class PublishSaga : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan ReceiptRetryDelay = TimeSpan.FromMilliseconds(500);
    private const int ReceiptAttempts = 20;

    private readonly Publish _publish;
    private readonly int _partition;
    private readonly bool _durable;
    private readonly IActorRef[] _subscribers;
    private readonly IActorRef _router;
    private readonly IActorRef _dedup;
    private readonly IActorRef _publisher;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Metrics.LiminalMetrics _metrics = Metrics.LiminalMetrics.For(Context.System);
    private PublishAck? _ack;
    private int _receiptAttempts;
    private bool _answered;
    // Attempts of the current resolving phase (reading the log, or releasing the claim).
    private int _attempt;
    // How often an unknown append is looked up in the log before the key is left in flight until its TTL (~4 min).
    private const int ResolveAttempts = 30;

    private readonly string _incarnation;
    // This publish's own claim: a release after a failure can never release another publish's claim of the key.
    private readonly string _owner;

    public PublishSaga(Publish publish, int partition, bool durable, IActorRef[] subscribers, IActorRef router, IActorRef dedup, IActorRef publisher,
        string incarnation)
    {
        _incarnation = incarnation;
        _owner = $"{incarnation}/{Guid.NewGuid():N}";
        _publish = publish;
        _partition = partition;
        _durable = durable;
        _subscribers = subscribers;
        _router = router;
        _dedup = dedup;
        _publisher = publisher;
        Claiming();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Publish publish, int partition, bool durable, IActorRef[] subscribers, IActorRef router, IActorRef dedup, IActorRef publisher,
        string incarnation) =>
        Akka.Actor.Props.Create(() => new PublishSaga(publish, partition, durable, subscribers, router, dedup, publisher, incarnation));

    private string Channel => _publish.Channel;

    protected override void PreStart()
    {
        SetReceiveTimeout(TimeSpan.FromSeconds(30));
        if (_publish.IdempotencyKey is { } key)
            _dedup.Tell(new ClaimOrGet(key) { Owner = _owner });
        else
            Append();
    }

    private void Claiming()
    {
        Receive<DedupDecision.Claimed>(_ => Append());
        Receive<DedupDecision.Completed>(completed => Finish(
            new PublishAck(Channel, _partition, null, false, 0, Duplicate: true, InFlight: false, completed.Receipt)));
        Receive<DedupDecision.InFlight>(inFlight =>
        {
            if (inFlight.Owner is { } owner && !IsOfThisRun(owner))
                ResolveOrphan(owner);
            else
                Finish(new PublishAck(Channel, _partition, null, false, 0, Duplicate: true, InFlight: true, null));
        });
        Receive<DedupRejected>(rejected =>
        {
            if (rejected.Reason == DedupRejection.PersistFailed)
                // The claim may have been stored: give up this publish's own claim, if it exists, before answering.
                ReleaseOwnClaim(new PublishRejected(Channel, PublishFailure.PersistFailed, $"idempotency key not claimed: {rejected.Detail}"));
            else
                Finish(new PublishRejected(Channel,
                    rejected.Reason == DedupRejection.InvalidKey ? PublishFailure.InvalidKey : PublishFailure.Overloaded,
                    $"idempotency key not claimed: {rejected.Reason} {rejected.Detail}".Trim()));
        });
        // The claim may still land: give up this publish's own claim, so the key does not stay in flight for its TTL.
        Receive<ReceiveTimeout>(_ => ReleaseOwnClaim(new PublishRejected(Channel, PublishFailure.Overloaded, "timed out claiming the idempotency key")));
    }

    /// <summary>
    /// The key was claimed by a bus that died before completing it. If its message was stored, complete the key with
    /// that message's receipt (a duplicate, not delivered again); if not, take the claim over and publish.
    /// </summary>
    private void ResolveOrphan(string deadOwner)
    {
        var key = _publish.IdempotencyKey!;
        if (!_durable)
        {
            _dedup.Tell(new TakeOverClaim(key, deadOwner, _owner));
            return;
        }
        Become(() =>
        {
            Receive<StoredKey>(stored =>
            {
                if (stored.SequenceNr is not { } sequenceNr)
                {
                    Become(Claiming);
                    _dedup.Tell(new TakeOverClaim(key, deadOwner, _owner));
                    return;
                }
                CompleteKey(new PublishAck(Channel, _partition, sequenceNr, false, 0, Duplicate: true, InFlight: false, ReceiptFor(sequenceNr)));
            });
            Receive<StoredKeyUnknown>(_ => Finish(new PublishAck(Channel, _partition, null, false, 0, Duplicate: true, InFlight: true, null)));
            Receive<ReceiveTimeout>(_ => Finish(new PublishRejected(Channel, PublishFailure.Overloaded, "timed out resolving a key left by a stopped bus")));
        });
        _router.Tell(new ToPartition(_partition, new FindStoredKey(key)));
    }

    private bool IsOfThisRun(string owner) => owner == _incarnation || owner.StartsWith(_incarnation + "/", StringComparison.Ordinal);

    private ProcessingReceipt ReceiptFor(long? sequenceNr) =>
        new(JsonSerializer.SerializeToUtf8Bytes(new { channel = Channel, partition = _partition, sequenceNr }));

    private void Append()
    {
        if (!_durable)
        {
            // An ephemeral channel only fans out: the message is handed to every subscriber now.
            var delivery = new Delivery(Channel, _partition, null, _publish.Envelope);
            foreach (var subscriber in _subscribers)
                subscriber.Tell(delivery, ActorRefs.NoSender);
            Delivered(null, _subscribers.Length);
            return;
        }

        Become(Appending);
        _router.Tell(new ToPartition(_partition, new AppendToPartition(_publish.Envelope, _subscribers, _publish.IdempotencyKey)));
    }

    private void Appending()
    {
        Receive<PartitionAppended>(appended => Delivered(appended.SequenceNr, appended.DeliveredCount));
        Receive<PartitionAppendFailed>(failed => ResolveUnknownAppend(failed.Detail));
        // Refused before anything was written (the partition is restarting and its buffer is full).
        Receive<PublishRejected>(rejected => ReleaseOwnClaim(new PublishRejected(Channel, rejected.Reason, rejected.Detail)));
        // Whether the message was stored is unknown: find out from the log, as after a failed write.
        Receive<ReceiveTimeout>(_ => ResolveUnknownAppend("timed out waiting for the channel's journal"));
    }

    /// <summary>
    /// The append failed or timed out, so the message may be stored. The partition stopped and recovers what was
    /// stored; its log then tells: stored → the key is completed with that message's receipt and the publisher gets
    /// its ack (not delivered: subscribers that missed it catch up from the log); not stored → the claim is released.
    /// </summary>
    private void ResolveUnknownAppend(string detail)
    {
        var failure = new PublishRejected(Channel, PublishFailure.PersistFailed, detail);
        if (_publish.IdempotencyKey is not { } key)
        {
            Finish(failure);
            return;
        }
        void Ask() => _router.Tell(new ToPartition(_partition, new FindStoredKey(key)));
        // The publisher hears now; the key must not stay in flight, so keep asking until the log can be read.
        void AskAgainLater(string why) => AnswerAndRetryLater(
            failure with { Detail = $"{detail}; {why}: the key answers InFlight until the log tells whether it was stored" },
            "whether its message was stored is still unknown");
        _attempt = 0;
        SetReceiveTimeout(null);
        Become(() =>
        {
            Receive<StoredKey>(stored =>
            {
                if (stored.SequenceNr is { } sequenceNr)
                    CompleteKey(new PublishAck(Channel, _partition, sequenceNr, false, 0, Duplicate: false, InFlight: false, ReceiptFor(sequenceNr)));
                else
                    ReleaseOwnClaim(failure);
            });
            Receive<StoredKeyUnknown>(_ => AskAgainLater("the log could not be read"));
            Receive<PublishRejected>(_ => AskAgainLater("the partition is restarting"));
            Receive<RetryResolve>(_ => Ask());
        });
        Ask();
    }

    /// <summary>
    /// Answers the publisher (if not yet answered) and sends <see cref="RetryResolve"/> after a backoff; after
    /// <see cref="ResolveAttempts"/> it gives up, logging <paramref name="what"/>, and the key stays in flight until its TTL.
    /// </summary>
    private void AnswerAndRetryLater(PublishRejected answer, string what)
    {
        Answer(answer);
        if (++_attempt > ResolveAttempts)
        {
            _log.Error("Key {0} on {1}: {2} after {3} attempts; it stays in flight until its TTL", _publish.IdempotencyKey, Channel, what, _attempt);
            Context.Stop(Self);
            return;
        }
        Timers.StartSingleTimer("resolve", RetryResolve.Instance, ResolveDelay(_attempt));
    }

    private static TimeSpan ResolveDelay(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(100 * Math.Pow(2, Math.Min(attempt, 10)), 10_000));

    /// <summary>
    /// Releases this publish's claim (if it was stored) and answers <paramref name="failure"/>. A release whose own
    /// write fails is tried again (releasing only this publish's claim, it is safe to repeat) so that the key does
    /// not stay in flight.
    /// </summary>
    private void ReleaseOwnClaim(PublishRejected failure)
    {
        if (_publish.IdempotencyKey is not { } key)
        {
            Finish(failure);
            return;
        }
        void Release() => _dedup.Tell(new ReleaseClaim(key) { Owner = _owner });
        _attempt = 0;
        SetReceiveTimeout(null);
        Become(() =>
        {
            Receive<ClaimReleased>(_ => Finish(failure));
            Receive<DedupRejected>(rejected => AnswerAndRetryLater(failure, $"its claim could not be released ({rejected.Reason})"));
            Receive<RetryResolve>(_ => Release());
        });
        Release();
    }

    private void Delivered(long? sequenceNr, int deliveredCount)
    {
        if (_publish.IdempotencyKey is null)
        {
            Finish(new PublishAck(Channel, _partition, sequenceNr, deliveredCount > 0, deliveredCount, false, false, null));
            return;
        }

        CompleteKey(new PublishAck(Channel, _partition, sequenceNr, deliveredCount > 0, deliveredCount, false, false, ReceiptFor(sequenceNr)));
    }

    /// <summary>Stores the key's receipt; <paramref name="ack"/> goes to the publisher once it is stored.</summary>
    private void CompleteKey(PublishAck ack)
    {
        _ack = ack;
        Become(Completing);
        _dedup.Tell(new CompleteReceipt(_publish.IdempotencyKey!, ack.Receipt!));
    }

    private void Completing()
    {
        Receive<ReceiptStored>(_ => Finish(_ack!));
        Receive<DedupRejected>(rejected =>
        {
            // The message is out: the publisher hears so now; the key must not stay in flight, so keep trying.
            Answer(_ack!);
            SetReceiveTimeout(null);
            Become(RetryingReceipt);
            RetryReceiptLater(rejected);
        });
        Receive<ReceiveTimeout>(_ => Finish(_ack!));
    }

    private void RetryingReceipt()
    {
        Receive<RetryReceipt>(_ => _dedup.Tell(new CompleteReceipt(_publish.IdempotencyKey!, _ack!.Receipt!)));
        Receive<ReceiptStored>(_ => Context.Stop(Self));
        Receive<DedupRejected>(RetryReceiptLater);
    }

    private void RetryReceiptLater(DedupRejected rejected)
    {
        if (++_receiptAttempts < ReceiptAttempts)
        {
            Timers.StartSingleTimer("retry", RetryReceipt.Instance, ReceiptRetryDelay);
            return;
        }
        _log.Error("Receipt of key {0} on {1} not stored after {2} attempts ({3}); the key expires with its TTL",
            _publish.IdempotencyKey, Channel, _receiptAttempts, rejected.Reason);
        Context.Stop(Self);
    }

    private void Finish(object reply)
    {
        Answer(reply);
        Context.Stop(Self);
    }

    /// <summary>The publisher gets exactly one answer, the first (a saga may go on resolving its key after it).</summary>
    private void Answer(object reply)
    {
        if (_answered)
            return;
        _answered = true;
        Count(reply);
        _publisher.Tell(reply);
    }

    private void Count(object reply)
    {
        switch (reply)
        {
            case PublishAck { Duplicate: true }:
                _metrics.DuplicateSuppressed();
                break;
            case PublishAck ack:
                _metrics.Published(ack.DeliveredCount);
                break;
            case PublishRejected:
                _metrics.PublishRejected();
                break;
        }
    }

    private sealed class RetryResolve : INoSerializationVerificationNeeded
    {
        public static readonly RetryResolve Instance = new();
    }

    private sealed class RetryReceipt : INoSerializationVerificationNeeded
    {
        public static readonly RetryReceipt Instance = new();
    }
}
