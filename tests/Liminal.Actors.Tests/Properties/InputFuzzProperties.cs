using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Event;
using CsCheck;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Validation;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Properties;

/// <summary>
/// Random strings (lone surrogates, NUL and other control characters, lengths around and far past every limit), random
/// bytes and random sizes, sent as every public request of the four actors, one after another, on SQLite on disk. For
/// each request: (1) it is answered within the timeout, (2) with one of the reply types its protocol names (a rejection
/// is a typed record, never silence or an exception), (3) a rejected request stored nothing (the journal's row count
/// is unchanged), (4) a request whose stored text would not come back identical from the journal (UTF-8 storage turns a
/// lone surrogate into U+FFFD; PostgreSQL cannot hold NUL in a persistence id) is rejected, never accepted, (5) a
/// subscriber that can never receive is never accepted, and (6) the actor answers the next valid request. Over the
/// whole run no actor fails (nothing is logged at Error level).
/// </summary>
/// <remarks>
/// <see cref="Iterations"/> requests per actor in CI; <c>LIMINAL_PROPERTY_ITERATIONS</c> raises it (as for the recovery
/// properties), <c>CsCheck_Seed</c> replays a failing run.
/// </remarks>
public sealed class InputFuzzProperties(ITestOutputHelper output) : LiminalTestKit
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Requests per actor; <c>LIMINAL_PROPERTY_ITERATIONS</c> raises it.</summary>
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("LIMINAL_PROPERTY_ITERATIONS"), out var n) && n > 0 ? Math.Max(n, 250) : 250;

    private static readonly byte[] AtTheLimit = Payloads.JsonOfSize(InputRules.DefaultMaxPayloadBytes);
    private static readonly byte[] OverTheLimit = Payloads.JsonOfSize(InputRules.DefaultMaxPayloadBytes + 1);

    private IActorRef _errors = ActorRefs.Nobody;
    private LiminalBus? _bus;

    private LiminalBus Bus => _bus ??= StartBus();

    private LiminalBus StartBus()
    {
        _errors = Sys.ActorOf(Props.Create(() => new ErrorListener()));
        Sys.EventStream.Subscribe(_errors, typeof(Error));
        return LiminalBus.Start(Sys, DefaultSettings with
        {
            DedupShards = 2,
            Channels =
            [
                new ChannelDefinition("fuzz", Durable: true, Partitions: 2),
                new ChannelDefinition("fuzz-schema", Durable: true, OrderSchema.FilePath),
                new ChannelDefinition("fuzz-eph", Durable: false),
                new ChannelDefinition("fuzz-follow", Durable: true),
                new ChannelDefinition("fuzz-sub", Durable: true, Partitions: 2),
            ],
        });
    }

    // ---- generators ------------------------------------------------------------------------------------------------

    /// <summary>Any text: plausible ids, any UTF-16 code units (lone surrogates, NUL, controls), tricky constants, lengths at the limits, null.</summary>
    private static Gen<string> AnyText(params string[] plausible) => AnyText(6, plausible);

    /// <summary><see cref="AnyText(string[])"/> with a plausible id <paramref name="plausibleWeight"/> times in 16.</summary>
    private static Gen<string> AnyText(int plausibleWeight, params string[] plausible) => Gen.Frequency(
        (plausibleWeight, plausible.Length > 0 ? Gen.OneOf(plausible) : Gen.String[Gen.Char.AlphaNumeric, 1, 8]),
        (3, Gen.Char['\0', '\uFFFF'].Array[0, 12].Select(chars => new string(chars))),
        (3, Gen.OneOf("", "x\uD800", "x\uFFFD", "\uDC00", "\0", "a\0b", "\u0001", "\u0085", "\u007F", "\uD83D\uDE00", "a/b", "with space", "-", "%", "\"\\")),
        (2, Gen.OneOf(241, 242, 243, 246, 247, 248, 256, 257, 1024, 1025, 5_000).Select(n => new string('x', n))),
        (1, Gen.Int[1, 400].Select(n => string.Concat(Enumerable.Repeat("\u00e9", n)))),
        (1, Gen.Const(default(string)!)));

    private static Gen<string?> Optional(Gen<string> text) => Gen.Frequency((2, Gen.Const(default(string?))), (3, text.Select(t => (string?)t)));

    private static readonly Gen<byte[]> AnyBytes = Gen.Frequency(
        (4, Gen.Byte.Array[0, 24]),
        (8, Gen.OneOf("{}", "[]", "\"x\"", "1", "{\"orderId\":\"o\",\"amount\":1}", "{\"amount\":-1}", "{", "", "null").Select(Encoding.UTF8.GetBytes)),
        (1, Gen.Const(new byte[] { 0x22, 0xFF, 0x22 })),
        (1, Gen.Const(AtTheLimit)),
        (1, Gen.Const(OverTheLimit)),
        (1, Gen.Const(default(byte[])!)));

    private static readonly Gen<int> AnyInt = Gen.Frequency((6, Gen.Int[-2, 3]), (1, Gen.Int), (1, Gen.OneOf(int.MinValue, int.MaxValue, 1024, 1025)));

    private static readonly Gen<long> AnyLong = Gen.Frequency((6, Gen.Long[-2, 5]), (1, Gen.Long), (1, Gen.OneOf(long.MinValue, long.MaxValue, 100L)));

    private static readonly Gen<ProcessingReceipt?> AnyReceipt = Gen.Frequency(
        (5, Gen.Byte.Array[0, 8].Select(b => (ProcessingReceipt?)new ProcessingReceipt(b))),
        (1, Gen.Const(default(ProcessingReceipt?))),
        (1, Gen.Const<ProcessingReceipt?>(new ProcessingReceipt(null!))),
        (1, Gen.Const<ProcessingReceipt?>(new ProcessingReceipt(new byte[InputRules.MaxReceiptBytes + 1]))));

    // ---- the four actors -------------------------------------------------------------------------------------------

    [Fact]
    public void Dedup_answers_every_random_request_typed_and_stores_nothing_for_a_rejected_one()
    {
        var key = AnyText("k1", "k2", "k3");
        var owner = Optional(AnyText("bus-1", "bus-2"));
        var requests = Gen.Frequency(
            (3, Gen.Select(key, owner, (k, o) => (object)new ClaimOrGet(k) { Owner = o })),
            (1, Gen.Select(key, AnyText("bus-1"), AnyText("bus-2"), (k, from, to) => (object)new TakeOverClaim(k, from, to))),
            (2, key.Select(k => (object)new LookupKey(k))),
            (3, Gen.Select(key, AnyReceipt, (k, r) => (object)new CompleteReceipt(k, r!))),
            (2, Gen.Select(key, owner, (k, o) => (object)new ReleaseClaim(k) { Owner = o })),
            (3, Gen.Select(key, AnyReceipt, (k, r) => (object)new ClaimOrComplete(k, r!))),
            (1, Gen.Const((object)SweepExpired.Instance)),
            (1, Gen.Const((object)GetEntityStats.Instance)));

        Run(requests, Bus.Dedup, new LookupKey("fuzz-probe"), typeof(KeyStatus), request => request switch
        {
            ClaimOrGet c => new Expect([typeof(DedupDecision), typeof(DedupRejected)], Stored: [c.Key, c.Owner]),
            TakeOverClaim t => new Expect([typeof(DedupDecision), typeof(DedupRejected)], Stored: [t.Key, t.FromOwner, t.ToOwner]),
            LookupKey l => new Expect([typeof(KeyStatus), typeof(DedupRejected)], Stored: [l.Key]),
            CompleteReceipt c => new Expect([typeof(ReceiptStored), typeof(DedupRejected)], Stored: [c.Key]),
            ReleaseClaim r => new Expect([typeof(ClaimReleased), typeof(DedupRejected)], Stored: [r.Key, r.Owner]),
            ClaimOrComplete c => new Expect([typeof(IdempotencyResult), typeof(DedupRejected)], Stored: [c.Key]),
            SweepExpired => new Expect([typeof(SweepReport), typeof(SweepFailed)]),
            _ => new Expect([typeof(EntityStats)]),
        });
    }

    [Fact]
    public void Conversations_answer_every_random_request_typed_and_store_nothing_for_a_rejected_one()
    {
        // Records need a received message, a step index and an output that are all right: most ids are plausible.
        var conversation = AnyText(20, "c1", "c2");
        var message = AnyText(20, "m1", "m2", "m3");
        var step = Gen.Frequency((8, Gen.Int[0, 3]), (1, AnyInt));
        var output = Gen.Frequency((6, Gen.Byte.Array[0, 16]), (1, Gen.Const(OverTheLimit)), (1, Gen.Const(default(byte[])!)),
            (1, Gen.Const(new byte[InputRules.DefaultMaxPayloadBytes])));
        var requests = Gen.Frequency(
            (4, Gen.Select(conversation, message, (c, m) => (object)new ReceiveMessage(c, m))),
            (2, Gen.Select(conversation, message, (c, m) => (object)new RecordProcessingStarted(c, m))),
            (4, Gen.Select(conversation, message, step, output, (c, m, s, o) => (object)new RecordStepCompleted(c, m, s, o))),
            (2, Gen.Select(conversation, message, (c, m) => (object)new RecordProcessingFinished(c, m))),
            (2, Gen.Select(conversation, message, AnyText(20, "boom"), (c, m, e) => (object)new RecordError(c, m, e))),
            (2, conversation.Select(c => (object)new GetConversationState(c))),
            (2, Gen.Select(conversation, message, step, (c, m, s) => (object)new GetStepOutput(c, m, s))),
            (1, Gen.Const((object)GetEntityStats.Instance)));

        Run(requests, Bus.Conversations, new GetConversationState("fuzz-probe"), typeof(ConversationSnapshot), request => request switch
        {
            GetConversationState g => new Expect([typeof(ConversationSnapshot), typeof(ConversationRejected)], PersistenceIds: [g.ConversationId]),
            GetStepOutput g => new Expect([typeof(StepOutput), typeof(ConversationRejected)], PersistenceIds: [g.ConversationId]),
            RecordError e => new Expect([typeof(EventRecorded), typeof(ConversationRejected)], Stored: [e.MessageId, e.Error], PersistenceIds: [e.ConversationId]),
            IConversationCommand c => new Expect([typeof(RedeliveryDecision), typeof(EventRecorded), typeof(ConversationRejected)],
                Stored: [IConversationCommand.MessageIdOf(c)], PersistenceIds: [c.ConversationId]),
            _ => new Expect([typeof(EntityStats)]),
        });
    }

    [Fact]
    public void Offsets_answer_every_random_request_typed_and_store_nothing_for_a_rejected_one()
    {
        var owner = AnyText("billing", "audit");
        var stream = AnyText("s1", "s2");
        var eventId = AnyText("e1", "e2");
        var requests = Gen.Frequency(
            (4, Gen.Select(owner, stream, AnyLong, (o, s, n) => (object)new CommitOffset(o, s, n))),
            (2, Gen.Select(owner, stream, (o, s) => (object)new GetOffset(o, s))),
            (3, Gen.Select(owner, eventId, (o, e) => (object)new RecordProcessed(o, e))),
            (2, Gen.Select(owner, eventId, (o, e) => (object)new WasProcessed(o, e))),
            (1, Gen.Const((object)GetEntityStats.Instance)));

        Run(requests, Bus.Offsets, new GetOffset("fuzz-probe", "s"), typeof(CurrentOffset), request => request switch
        {
            CommitOffset c => new Expect([typeof(OffsetCommitted), typeof(OffsetRejected), typeof(OffsetRequestRejected)], Stored: [c.Stream], PersistenceIds: [c.Consumer]),
            GetOffset g => new Expect([typeof(CurrentOffset), typeof(OffsetRequestRejected)], PersistenceIds: [g.Consumer]),
            RecordProcessed r => new Expect([typeof(ProcessedRecorded), typeof(OffsetRequestRejected)], Stored: [r.EventId], PersistenceIds: [r.Pipeline]),
            WasProcessed w => new Expect([typeof(ProcessedStatus), typeof(OffsetRequestRejected)], PersistenceIds: [w.Pipeline]),
            _ => new Expect([typeof(EntityStats)]),
        });
    }

    [Fact]
    public void Channels_answer_every_random_request_typed_and_store_nothing_for_a_rejected_one()
    {
        var bus = Bus;
        var subscriber = CreateTestProbe();
        var stopped = CreateTestProbe();
        Watch(stopped.Ref);
        Sys.Stop(stopped.Ref);
        ExpectTerminated(stopped.Ref);
        // The asker's own ref stands for "the asker" in a replay (a replay answers its subscriber).
        var asker = new AskerRef();
        var neverReceives = new IActorRef?[] { Sys.DeadLetters, ActorRefs.Nobody, null };

        // Every field of a publish can be wrong: most are right, so that the rest of it is exercised too.
        var channel = AnyText(30, "fuzz", "fuzz", "fuzz-eph", "fuzz-schema", "nowhere");
        var subscriberRef = Gen.OneOf<IActorRef?>(subscriber.Ref, subscriber.Ref, stopped.Ref, Sys.DeadLetters, ActorRefs.Nobody, null);
        var replaySubscriber = Gen.OneOf<IActorRef?>(asker, asker, asker, Sys.DeadLetters, ActorRefs.Nobody, null);
        var envelope = Gen.Frequency(
            (8, Gen.Select(AnyBytes, AnyText(30, "shop"), Gen.Bool, Optional(AnyText(30, "corr")), Optional(AnyText(30, "cause")),
                (payload, publisher, causal, correlation, causation) =>
                    new MessageEnvelope(payload, publisher, causal ? new CausalContext(correlation, causation) : null))),
            (1, Gen.Const(default(MessageEnvelope)!)));
        var definition = Gen.Frequency(
            (8, Gen.Select(AnyText("new-a", "new-b", "fuzz"), Gen.Bool, Optional(AnyText(OrderSchema.FilePath, ".", "/", "no-such.json")),
                // Not 1024: a durable channel of 1,024 partitions is valid, but slow to start on SQLite.
                Gen.Frequency((6, Gen.Int[1, 2]), (1, Gen.OneOf(0, -1, 1025, int.MinValue, int.MaxValue))),
                (name, durable, schema, partitions) => new ChannelDefinition(name, durable, schema, partitions))),
            (1, Gen.Const(default(ChannelDefinition)!)));
        var requests = Gen.Frequency(
            (6, Gen.Select(channel, envelope, Optional(AnyText(30, "key-1", "key-2")), Optional(AnyText(30, "pk-1")),
                (c, e, key, partitionKey) => (object)new Publish(c, e, key) { PartitionKey = partitionKey })),
            (2, Gen.Select(channel, subscriberRef, Gen.Frequency((3, Gen.Const(default(int?))), (1, AnyInt.Select(n => (int?)n))), AnyInt,
                (c, s, max, buffer) => (object)new Subscribe(c, s!) { MaxUnacknowledged = max, BufferSize = buffer })),
            (1, Gen.Select(channel, subscriberRef, (c, s) => (object)new Unsubscribe(c, s!))),
            (2, Gen.Select(channel, Gen.Frequency((6, Gen.Int[0, 1]), (1, AnyInt)), Gen.Frequency((6, Gen.Long[1, 40]), (1, AnyLong)), replaySubscriber,
                (c, p, from, s) => (object)new Replay(c, p, from, s!))),
            (1, definition.Select(d => (object)new CreateChannel(d))),
            (1, Gen.Const((object)GetChannels.Instance)));

        var follow = new Publish("fuzz-follow", new MessageEnvelope("{}"u8.ToArray(), "fuzz"));
        Run(requests, bus.Channels, follow, typeof(PublishAck), request => request switch
        {
            Publish p => new Expect([typeof(PublishAck), typeof(PublishRejected)],
                Stored: [p.Envelope?.PublisherId, p.Envelope?.Causal?.CorrelationId, p.Envelope?.Causal?.CausationId, p.IdempotencyKey, p.PartitionKey]),
            Subscribe s => new Expect([typeof(Subscribed), typeof(ChannelRejected)], MustReject: neverReceives.Contains(s.Subscriber)),
            Unsubscribe => new Expect([typeof(Unsubscribed), typeof(ChannelRejected)]),
            Replay r => new Expect([typeof(ReplayCompleted), typeof(ChannelRejected)], MustReject: r.FromSequenceNr < 1 || neverReceives.Contains(r.Subscriber)),
            CreateChannel => new Expect([typeof(ChannelCreated), typeof(ChannelRejected)]),
            _ => new Expect([typeof(ChannelList)]),
        }, asker);
    }

    [Fact]
    public void Durable_consumers_answer_every_random_request_typed_and_store_nothing_for_a_rejected_one()
    {
        var bus = Bus;
        // "billing" on "fuzz" has messages out to a member that never acks, so that acks, naks and terms find pending
        // messages. Its MaxDeliver is never reached and the bus clock never moves, so it writes only when asked (a nak's
        // immediate redelivery is awaited below): a rejected request's row count is exact.
        var member = CreateTestProbe();
        var billingOptions = new ConsumerOptions { MaxDeliver = 1_000_000 };
        void SubscribeBilling() => Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("fuzz", "billing", member.Ref, billingOptions));
        SubscribeBilling();
        for (var n = 0; n < 10; n++)
            Ask<PublishAck>(bus.Channels, new Publish("fuzz", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), "fuzz")) { PartitionKey = $"k{n}" });
        member.ReceiveN(10, ReplyTimeout);

        var subscriber = CreateTestProbe();
        var stopped = CreateTestProbe();
        Watch(stopped.Ref);
        Sys.Stop(stopped.Ref);
        ExpectTerminated(stopped.Ref);
        var neverReceives = new IActorRef?[] { Sys.DeadLetters, ActorRefs.Nobody, null };

        // Subscribes and purges go to channels without messages: a consumer writes by itself, after the answer, what its
        // filter skips and what a purge took from under it.
        var subscribeChannel = AnyText(60, "fuzz-sub", "fuzz-sub", "fuzz-sub", "fuzz-sub", "fuzz-eph", "nowhere", "nowhere.dlq");
        var channel = AnyText(60, "fuzz", "fuzz", "fuzz", "fuzz", "fuzz-sub", "fuzz-eph", "nowhere");
        var consumer = AnyText(60, "billing", "billing", "billing", "billing", "audit", "a-b", "a%2Db");
        var subscriberRef = Gen.OneOf<IActorRef?>(subscriber.Ref, subscriber.Ref, subscriber.Ref, stopped.Ref, Sys.DeadLetters, ActorRefs.Nobody, null);
        var span = Gen.Frequency(
            (4, Gen.Int[-2, 5].Select(s => TimeSpan.FromSeconds(s))),
            (1, Gen.OneOf(TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1), TimeSpan.FromDays(1) + TimeSpan.FromTicks(1),
                TimeSpan.MaxValue, TimeSpan.MinValue, TimeSpan.FromTicks(-1))),
            (1, Gen.Long.Select(TimeSpan.FromTicks)));
        var deliverFrom = Gen.Frequency(
            (3, Gen.Const<DeliverFrom>(new DeliverFrom.All())),
            (2, Gen.Const<DeliverFrom>(new DeliverFrom.New())),
            (3, AnyLong.Select(n => (DeliverFrom)new DeliverFrom.Sequence(n))),
            (1, Gen.Const(default(DeliverFrom)!)));
        var filter = Optional(AnyText(8, "n > 1", "n == 3", "customer.tier == \"gold\"", "flag != true", "x <= null", "n >", "== 1", "a..b == 1",
            "n > \"\uD800\"", "n == 1e999", "n == [1]"));
        var deadLetterChannel = Optional(AnyText(20, "fuzz.dlq", "fuzz-sub", "fuzz-eph", "fuzz-schema", "nowhere.dlq"));
        var options = Gen.Frequency(
            (3, Gen.Const(new ConsumerOptions())),
            (3, Gen.Select(Gen.Int[1, 5], Gen.Int[1, 5], Gen.OneOf("n > 1", "customer.tier == \"gold\"", "flag != true"),
                (maxAckPending, maxDeliver, f) => new ConsumerOptions { MaxAckPending = maxAckPending, MaxDeliver = maxDeliver, Filter = f })),
            (6, Gen.Select(AnyInt, span, AnyInt, deliverFrom, filter, deadLetterChannel,
                (maxAckPending, ackWait, maxDeliver, from, f, dlq) => new ConsumerOptions
                {
                    MaxAckPending = maxAckPending, AckWait = ackWait, MaxDeliver = maxDeliver, DeliverFrom = from, Filter = f, DeadLetterChannel = dlq,
                })),
            (1, Gen.Const(default(ConsumerOptions)!)));
        var partition = Gen.Frequency((8, Gen.Int[0, 1]), (1, AnyInt));
        var sequenceNr = Gen.Frequency((8, Gen.Long[1, 11]), (1, AnyLong));
        var delay = Gen.Frequency((3, Gen.Const(default(TimeSpan?))), (3, span.Select(s => (TimeSpan?)s)));
        var requests = Gen.Frequency(
            (4, Gen.Select(subscribeChannel, consumer, subscriberRef, options, (c, x, s, o) => (object)new SubscribeDurable(c, x, s!, o))),
            (4, Gen.Select(channel, consumer, partition, sequenceNr, (c, x, p, n) => (object)new Ack(c, x, p, n))),
            (4, Gen.Select(channel, consumer, partition, sequenceNr, delay, (c, x, p, n, d) => (object)new Nak(c, x, p, n, d))),
            (3, Gen.Select(channel, consumer, partition, sequenceNr, AnyText(20, "bad", "bad", ""), (c, x, p, n, r) => (object)new Term(c, x, p, n, r))),
            (2, Gen.Select(channel, consumer, (c, x) => (object)new GetConsumerInfo(c, x))),
            (1, Gen.Select(channel, consumer, (c, x) => (object)new DeleteConsumer(c, x))),
            (1, AnyText(30, "fuzz-sub", "fuzz-eph", "fuzz-sub.dlq", "nowhere").Select(c => (object)new PurgeChannel(c))),
            (2, Gen.Select(AnyText(30, "fuzz.dlq", "fuzz.dlq", "fuzz", "nowhere.dlq"), Gen.Frequency((4, Gen.Long[1, 3]), (1, AnyLong)), (c, n) => (object)new RedriveDeadLetter(c, n))));

        static bool BadSettlement(int partition, long sequenceNr) => partition is < 0 or > 1 || sequenceNr < 1;
        Run(requests, bus.Channels, new GetConsumerInfo("fuzz", "billing"), typeof(ConsumerInfo), request => request switch
        {
            SubscribeDurable s => new Expect([typeof(ConsumerSubscribed), typeof(ChannelRejected)], Stored: [s.Options?.Filter, s.Options?.DeadLetterChannel],
                PersistenceIds: [s.Channel, s.Consumer],
                MustReject: neverReceives.Contains(s.Subscriber) || s.Options is null || s.Options.MaxAckPending < 1 || s.Options.MaxDeliver < 1
                            || s.Options.AckWait <= TimeSpan.Zero || s.Options.DeliverFrom is null or DeliverFrom.Sequence { SequenceNr: < 1 }),
            Ack a => new Expect([typeof(Acked), typeof(AckRejected)], MustReject: BadSettlement(a.Partition, a.SequenceNr)),
            Nak n => new Expect([typeof(Redelivering), typeof(AckRejected)], MustReject: BadSettlement(n.Partition, n.SequenceNr) || n.Delay < TimeSpan.Zero),
            Term t => new Expect([typeof(DeadLettered), typeof(AckRejected)], Stored: [t.Reason], MustReject: BadSettlement(t.Partition, t.SequenceNr)),
            GetConsumerInfo => new Expect([typeof(ConsumerInfo), typeof(ChannelRejected)]),
            DeleteConsumer => new Expect([typeof(ConsumerDeleted), typeof(ChannelRejected)]),
            PurgeChannel => new Expect([typeof(ChannelPurged), typeof(ChannelRejected)]),
            RedriveDeadLetter r => new Expect([typeof(PublishAck), typeof(PublishRejected)], MustReject: r.SequenceNr < 1),
            _ => new Expect([]),
        }, settle: (request, reply) =>
        {
            switch (request, reply)
            {
                // Redelivered at once: stored as an attempt, then sent. Awaited, so that the next request's rows are its own.
                case (Nak { Delay: null or { Ticks: 0 } } nak, Redelivering):
                    member.FishForMessage(m => m is Delivery d && d.Partition == nak.Partition && d.SequenceNr == nak.SequenceNr, ReplyTimeout,
                        $"the redelivery of {Describe(nak)}");
                    break;
                case (DeleteConsumer { Channel: "fuzz", Consumer: "billing" }, ConsumerDeleted):
                    SubscribeBilling();
                    break;
            }
        });
        Assert.True(JournalRows("consumer-fuzz-billing-") > 0);
    }

    // ---- the property ----------------------------------------------------------------------------------------------

    /// <summary>
    /// What a request may be answered with; the text it would store (must come back from UTF-8 storage unchanged) and the
    /// text that becomes part of a persistence id (besides, no control characters); whether it must be rejected anyway.
    /// </summary>
    private sealed record Expect(Type[] Replies, string?[]? Stored = null, string?[]? PersistenceIds = null, bool MustReject = false);

    private void Run(Gen<object> requests, IActorRef target, object probeRequest, Type probeReply, Func<object, Expect> expect, AskerRef? asker = null,
        Action<object, object>? settle = null)
    {
        var runs = 0;
        var rejected = 0;
        var replies = new SortedDictionary<string, int>(StringComparer.Ordinal);
        requests.Sample(request =>
        {
            runs++;
            var rows = JournalRows("");
            var replyTo = CreateTestProbe();
            var sent = asker is null ? request : asker.Bind(request, replyTo.Ref);
            target.Tell(sent, replyTo.Ref);
            // A replay streams its deliveries to the asker before it is answered.
            var reply = replyTo.FishForMessage(m => m is not Delivery, ReplyTimeout, $"the answer to {Describe(request)}");

            var expected = expect(request);
            var kind = $"{request.GetType().Name} -> {reply.GetType().Name}{reply switch
            {
                PublishRejected r when request is RedriveDeadLetter => $"({r.Reason}: {Truncate(r.Detail)})",
                PublishRejected r => $"({r.Reason})",
                DedupRejected r => $"({r.Reason})",
                ConversationRejected r => $"({r.Reason})",
                AckRejected r => $"({Truncate(r.Reason)})",
                ChannelRejected r when request is SubscribeDurable or GetConsumerInfo or DeleteConsumer or PurgeChannel => $"({Truncate(r.Reason)})",
                _ => "",
            }}";
            replies[kind] = replies.GetValueOrDefault(kind) + 1;
            Assert.True(expected.Replies.Any(t => t.IsInstanceOfType(reply)),
                $"{Describe(request)} was answered {reply.GetType().Name}, not one of {string.Join(", ", expected.Replies.Select(t => t.Name))}");
            var isRejection = reply is DedupRejected or ConversationRejected or OffsetRequestRejected or OffsetRejected or PublishRejected
                or ChannelRejected or SweepFailed or AckRejected;
            if (isRejection)
            {
                rejected++;
                var written = JournalRows("") - rows;
                if (written != 0)
                    Assert.Fail($"{Describe(request)} was rejected ({Describe(reply)}) but {written} journal rows were written: " +
                                string.Join("; ", JournalTail((int)Math.Clamp(written, 1, 5))));
            }
            else
            {
                var mangled = (expected.Stored ?? []).Concat(expected.PersistenceIds ?? []).FirstOrDefault(text => !RoundTripsThroughUtf8(text));
                Assert.True(mangled is null, $"{Describe(request)} was accepted ({Describe(reply)}) although {Describe(mangled)} does not come back from storage");
                var control = (expected.PersistenceIds ?? []).FirstOrDefault(text => text is not null && text.Any(char.IsControl));
                Assert.True(control is null, $"{Describe(request)} was accepted ({Describe(reply)}) with a control character in a persistence id: {Describe(control)}");
                Assert.False(expected.MustReject, $"{Describe(request)} was accepted ({Describe(reply)})");
                settle?.Invoke(request, reply);
            }

            target.Tell(probeRequest, replyTo.Ref);
            var next = replyTo.FishForMessage(m => m is not Delivery, ReplyTimeout, "the answer to the next valid request");
            Assert.True(probeReply.IsInstanceOfType(next), $"after {Describe(request)} the next valid request was answered {Describe(next)}");
            // An actor's failure is logged before it restarts, so before it answers: asked now, the listener has it.
            _errors.Tell(ErrorListener.Report.Instance, replyTo.Ref);
            var errors = replyTo.ExpectMsg<string[]>(ReplyTimeout);
            Assert.True(errors.Length == 0, $"an actor failed on {Describe(request)}: {string.Join("; ", errors)}");
            Sys.Stop(replyTo.Ref);
        }, iter: Iterations, threads: 1, print: Describe);
        output.WriteLine($"{runs} requests, {rejected} of them rejected; every one answered and typed:");
        foreach (var (kind, count) in replies)
            output.WriteLine($"  {kind}: {count}");
        Assert.True(rejected > 0 && rejected < runs, $"{rejected} of {runs} rejected: the generators should produce both kinds");
    }

    // The first words of a reason: enough to tell kinds of rejection apart in the summary, without the names in it.
    private static string Truncate(string reason) => string.Join(' ', reason.Split(' ').Take(3));

    private static bool RoundTripsThroughUtf8(string? text) => text is null || Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)) == text;

    /// <summary>A complete, printable rendering: control characters and surrogates as \uXXXX, long texts and payloads by size.</summary>
    private static string Describe(object? value) => Describe(value, 0);

    private static string Describe(object? value, int depth) => value switch
    {
        null => "null",
        string text => text.Length > 40 ? $"\"{Escape(text[..12])}…\"({text.Length} chars)" : $"\"{Escape(text)}\"",
        byte[] bytes => bytes.Length > 16 ? $"bytes[{bytes.Length}]" : $"0x{Convert.ToHexString(bytes)}",
        IActorRef actor => actor.Path.ToString(),
        _ when depth < 3 && value.GetType().Assembly == typeof(LiminalBus).Assembly && !value.GetType().IsEnum => DescribeRecord(value, depth),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
    };

    private static string DescribeRecord(object value, int depth)
    {
        var properties = value.GetType().GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public)
            .Where(p => p.GetIndexParameters().Length == 0);
        var fields = properties.Select(p => $"{p.Name} = {Describe(p.GetValue(value), depth + 1)}");
        return $"{value.GetType().Name} {{ {string.Join(", ", fields)} }}";
    }

    private static string Escape(string text) =>
        string.Concat(text.Select(c => c is < ' ' or (>= '\u007f' and <= '\u00a0') || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    /// <summary>Stands for the asking probe in a generated <see cref="Replay"/>; replaced by it when sent.</summary>
    private sealed class AskerRef : MinimalActorRef
    {
        public override ActorPath Path { get; } = new RootActorPath(new Address("akka", "asker")) / "asker";

        public override IActorRefProvider Provider => throw new NotSupportedException();

        public object Bind(object request, IActorRef asker) =>
            request is Replay replay && ReferenceEquals(replay.Subscriber, this) ? replay with { Subscriber = asker } : request;
    }

    /// <summary>Keeps every Error logged in the actor system and hands them over on <see cref="Report"/>.</summary>
    private sealed class ErrorListener : ReceiveActor
    {
        public ErrorListener()
        {
            var errors = new List<string>();
            Receive<Error>(error => errors.Add($"{error.LogSource}: {error.Message} {error.Cause?.GetType().Name}: {error.Cause?.Message}"));
            Receive<Report>(_ => Sender.Tell(errors.ToArray()));
        }

        public sealed class Report
        {
            public static readonly Report Instance = new();
        }
    }
}
