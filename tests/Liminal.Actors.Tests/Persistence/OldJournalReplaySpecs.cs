using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence;

/// <summary>
/// A journal and snapshot file written by commit f8113fc (<c>Fixtures/f8113fc</c>, see its README) replay on the
/// current code: every key, conversation, offset and channel message they hold answers as it did when written, and
/// new writes continue after the stored ones. Only public requests are used, so these specs hold the persistence
/// core to the old files through any rewrite of its internals.
/// </summary>
public sealed class OldJournalReplaySpecs : LiminalTestKit
{
    // Each spec gets its own copy: the bus writes to the files it opens, and the committed ones must stay as written.
    public OldJournalReplaySpecs() : base(CopyOfFixture("f8113fc"))
    {
        // Where the writer's fake clock stood when it stopped; every key is well inside its 24 h TTL.
        Clock.SetUtcNow(DateTimeOffset.Parse("2026-01-01T00:01:18Z"));
    }

    private static string CopyOfFixture(string version)
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", version, "liminal.db");
        var copy = TestDatabase.NewPath();
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(fixture, copy);
        File.Copy(SqlJournalConfig.SnapshotPathFor(fixture), SqlJournalConfig.SnapshotPathFor(copy));
        return copy;
    }

    // The writer's settings that the files do not record: the channel it had from configuration.
    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("audit", Durable: true)] };

    private LiminalBus StartBus() => LiminalBus.Start(Sys, Settings);

    private static ProcessingReceipt Receipt(string text) => new(Encoding.UTF8.GetBytes(text));

    // Shard dedup-default-3: the pre-* keys went one row each and the fifth left the shard's snapshot; the burst
    // came after it, one row and then one EventBatch row of 23 events. late-005 came last, at the shard's capacity:
    // one EventBatch row that evicted pre-008 (which the snapshot still holds) and admitted late-005.
    private static readonly string[] SnapshottedKeys = ["pre-017", "pre-022", "pre-031", "pre-039"];

    private static readonly string[] BurstKeys =
    [
        "burst-005", "burst-016", "burst-023", "burst-034", "burst-041", "burst-049", "burst-052", "burst-067",
        "burst-070", "burst-078", "burst-085", "burst-096", "burst-104", "burst-113", "burst-126", "burst-135",
        "burst-140", "burst-148", "burst-157", "burst-162", "burst-171", "burst-179", "burst-184", "burst-193",
    ];

    private static readonly string[] PaymentKeys = ["payment-1", "payment-2", "payment-3", "payment-4", "payment-5", "payment-6"];

    /// <summary>Keys claimed and then completed with a receipt of their own.</summary>
    private static readonly (string Key, string Receipt)[] CompletedKeys =
    [
        ("order-1001", "invoice:order-1001"),
        ("order-1002", "invoice:order-1002"),
        ("order-1003", "invoice:order-1003"),
        ("order-1004", "invoice:order-1004"),
        ("order-3003", "invoice:order-3003:second-try"),   // claimed, released, claimed again, completed
    ];

    /// <summary>The channel publishes' idempotency keys and the receipts the publish path stored for them.</summary>
    private static readonly (string Key, int Partition, long SequenceNr)[] PublishKeys =
    [
        ("pub-o-01", 0, 1), ("pub-o-03", 1, 1), ("pub-o-04", 0, 3), ("pub-o-06", 0, 4), ("pub-o-07", 1, 3), ("pub-o-09", 0, 6),
    ];

    private static ProcessingReceipt PublishReceipt(int partition, long sequenceNr) =>
        Receipt($"{{\"channel\":\"orders\",\"partition\":{partition},\"sequenceNr\":{sequenceNr}}}");

    private static IEnumerable<(string Key, ProcessingReceipt Receipt)> KeysCompletedByClaimOrComplete() =>
        SnapshottedKeys.Concat(BurstKeys).Append("late-005").Select(k => (k, Receipt("receipt:" + k)))
            .Concat(PaymentKeys.Select(k => (k, Receipt("payment-receipt:" + k))));

    private static IEnumerable<(string Key, ProcessingReceipt Receipt)> EveryCompletedKey() =>
        KeysCompletedByClaimOrComplete()
            .Concat(CompletedKeys.Select(c => (c.Key, Receipt(c.Receipt))))
            .Concat(PublishKeys.Select(p => (p.Key, PublishReceipt(p.Partition, p.SequenceNr))));

    private static readonly DedupDecision.InFlight UnownedClaim = new(1767225615000);   // order-2001 at 00:00:15
    private static readonly DedupDecision.InFlight OwnedClaim = new(1767225616000) { Owner = "bus-run-f8113fc" };   // order-2002

    [Fact]
    public void Every_idempotency_key_has_the_status_it_was_written_with()
    {
        var dedup = StartBus().Dedup;

        foreach (var (key, receipt) in EveryCompletedKey())
            Assert.Equal(new KeyStatus(key, new DedupDecision.Completed(receipt)), Ask<KeyStatus>(dedup, new LookupKey(key)));
        Assert.Equal(new KeyStatus("order-2001", UnownedClaim), Ask<KeyStatus>(dedup, new LookupKey("order-2001")));
        Assert.Equal(new KeyStatus("order-2002", OwnedClaim), Ask<KeyStatus>(dedup, new LookupKey("order-2002")));
        // Released, evicted, expired by the old sweep, never written.
        foreach (var absent in new[] { "order-3001", "order-3002", "pre-008", "stale-1", "stale-2", "stale-3", "never-written" })
            Assert.Equal(new KeyStatus(absent, null), Ask<KeyStatus>(dedup, new LookupKey(absent)));
        // The stale keys would be absent by their age alone; that a sweep finds none of them proves the old
        // sweep's KeysExpired events replayed. Every shard holds what the table in the fixture's README says.
        Assert.Equal(new SweepReport(Scanned: 48, Expired: 0, Retained: 48), Ask<SweepReport>(dedup, SweepExpired.Instance));
    }

    [Fact]
    public void A_stored_key_answers_a_retry_as_a_duplicate_with_its_original_receipt()
    {
        var dedup = StartBus().Dedup;

        foreach (var (key, original) in KeysCompletedByClaimOrComplete())
            Assert.Equal(new IdempotencyResult.Duplicate(original), Ask<IdempotencyResult>(dedup, new ClaimOrComplete(key, Receipt("a retry"))));
        foreach (var (key, receipt) in CompletedKeys)
            Assert.Equal(new DedupDecision.Completed(Receipt(receipt)), Ask<DedupDecision>(dedup, new ClaimOrGet(key)));
        Assert.Equal(new IdempotencyResult.InFlight(UnownedClaim.ClaimedAtMillis), Ask<IdempotencyResult>(dedup, new ClaimOrComplete("order-2001", Receipt("a retry"))));
        Assert.Equal(OwnedClaim, Ask<DedupDecision>(dedup, new ClaimOrGet("order-2002")));
        // Released keys are free again, on shards that hold old snapshots and old events alike.
        Assert.Equal(new DedupDecision.Claimed(), Ask<DedupDecision>(dedup, new ClaimOrGet("order-3001")));
        Assert.Equal(new DedupDecision.Claimed(), Ask<DedupDecision>(dedup, new ClaimOrGet("order-3002")));
    }

    private static readonly ConversationSnapshot OrderFlow = new(
        "order-flow-42",
        Received: ["m1", "m2", "m3", "m4"],
        InProgress: ["m2"],
        Finished: ["m1", "m4"],
        Errored: [new MessageError("m2", "payment declined"), new MessageError("m4", "timeout talking to the warehouse")],
        // m1's outputs were compacted away when m4 finished (keep-outputs-of-finished = 1 in the writer).
        CompletedSteps: [Step("m2", 0, "reserved:sku-3"), Step("m4", 0, "reserved:sku-4"), Step("m4", 1, "charged:5.00")],
        LastSequenceNr: 17);

    private static readonly ConversationSnapshot Billing = new(
        "billing-7", Received: ["inv-1"], InProgress: [], Finished: ["inv-1"], Errored: [],
        CompletedSteps: [Step("inv-1", 0, "{\"invoice\":7}")], LastSequenceNr: 4);

    private static CompletedStep Step(string messageId, int index, string output) => new(messageId, index, Encoding.UTF8.GetBytes(output));

    [Fact]
    public void Conversations_have_their_state_and_redelivery_decisions_and_their_logs_continue()
    {
        var conversations = StartBus().Conversations;

        // order-flow-42 recovers from its snapshot at 15 plus two events; billing-7 from events alone.
        Assert.Equal(OrderFlow, Ask<ConversationSnapshot>(conversations, new GetConversationState("order-flow-42")));
        Assert.Equal(Billing, Ask<ConversationSnapshot>(conversations, new GetConversationState("billing-7")));
        Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("order-flow-42", "m1")));
        Assert.Equal(new RedeliveryDecision.ResumeFrom(1), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("order-flow-42", "m2")));
        Assert.Equal(new RedeliveryDecision.ResumeFrom(0), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("order-flow-42", "m3")));
        Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("order-flow-42", "m4")));
        Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("billing-7", "inv-1")));

        // The old log has no leases: m2 and m3 were free to resume, and each resume took the lease (events 18 and 19).
        Assert.Equal(new EventRecorded("order-flow-42", 20),
            Ask<EventRecorded>(conversations, new RecordStepCompleted("order-flow-42", "m2", 1, Encoding.UTF8.GetBytes("charged:7.50"))));
        Assert.Equal(new EventRecorded("billing-7", 5), Ask<EventRecorded>(conversations, new RecordError("billing-7", "inv-1", "late")));
    }

    [Fact]
    public void Consumer_offsets_and_processed_ids_are_as_committed()
    {
        var offsets = StartBus().Offsets;

        Assert.Equal(new CurrentOffset("billing", "orders-0", 3), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-0")));
        Assert.Equal(new CurrentOffset("billing", "orders-1", 2), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-1")));
        Assert.Equal(new CurrentOffset("billing", "orders-2", null), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-2")));
        Assert.Equal(new CurrentOffset("audit-log", "audit-0", 7), Ask<CurrentOffset>(offsets, new GetOffset("audit-log", "audit-0")));
        // ingest recovers from its snapshot at 5 plus two events.
        foreach (var id in Enumerable.Range(1, 7).Select(i => $"evt-{i:D2}"))
            Assert.Equal(new ProcessedStatus("ingest", id, true), Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", id)));
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", "evt-08")).Processed);
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("billing", "evt-01")).Processed);

        Assert.Equal(new OffsetRejected("billing", "orders-0", Stored: 3, Attempted: 2), Ask<OffsetRejected>(offsets, new CommitOffset("billing", "orders-0", 2)));
        Assert.Equal(new OffsetCommitted("billing", "orders-0", 4), Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 4)));
    }

    [Fact]
    public void Old_processed_ids_are_kept_for_the_retention_counted_from_the_first_record_that_carries_a_time()
    {
        var offsets = StartBus().Offsets;
        var retention = Settings.OffsetsRetention;

        // The old log holds no processing times: old ids are kept until a record that carries one, and from then on
        // count their retention from it.
        Clock.Advance(retention);
        Assert.True(Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", "evt-01")).Processed);
        Ask<ProcessedRecorded>(offsets, new RecordProcessed("ingest", "evt-08"));
        Clock.Advance(retention - TimeSpan.FromMilliseconds(1));
        Assert.True(Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", "evt-01")).Processed);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", "evt-01")).Processed);
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", "evt-08")).Processed);
    }

    [Fact]
    public void Old_finished_messages_are_kept_for_the_retention_counted_from_their_receive_time()
    {
        var conversations = StartBus().Conversations;
        // The old log holds no finish times: a finished message counts its retention from its receive time.
        // billing-7's inv-1 was received at 00:00:48 (its MessageReceived says so) and finished a few seconds later.
        var receivedAt = DateTimeOffset.Parse("2026-01-01T00:00:48Z");
        Clock.SetUtcNow(receivedAt.Add(Settings.ConversationRetention).AddMilliseconds(-1));
        Assert.Equal(new RedeliveryDecision.Skip(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("billing-7", "inv-1")));
        Clock.SetUtcNow(receivedAt.Add(Settings.ConversationRetention));
        Assert.Equal(new RedeliveryDecision.Start(), Ask<RedeliveryDecision>(conversations, new ReceiveMessage("billing-7", "inv-1")));
    }

    private static Delivery Order(int partition, long sequenceNr, string orderId, CausalContext? causal = null) =>
        new("orders", partition, sequenceNr,
            new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"orderId\":\"{orderId}\",\"amount\":{orderId[^1] - '0'}}}"), "shop", causal));

    private static readonly Delivery[] OrdersPartition0 =
    [
        Order(0, 1, "o-01"), Order(0, 2, "o-02"), Order(0, 3, "o-04"),
        Order(0, 4, "o-06", new CausalContext("corr-2", null)), Order(0, 5, "o-08"), Order(0, 6, "o-09"),
    ];

    private static readonly Delivery[] OrdersPartition1 =
        [Order(1, 1, "o-03", new CausalContext("corr-1", "cause-1")), Order(1, 2, "o-05"), Order(1, 3, "o-07")];

    private static readonly Delivery[] Audit =
    [
        new("audit", 0, 1, new MessageEnvelope(Encoding.UTF8.GetBytes("{\"entry\":\"a-1\"}"), "auditor")),
        new("audit", 0, 2, new MessageEnvelope(Encoding.UTF8.GetBytes("{\"entry\":\"a-2\"}"), "auditor")),
    ];

    private void AssertReplays(IActorRef channels, string channel, int partition, IReadOnlyList<Delivery> expected)
    {
        var probe = CreateTestProbe();
        channels.Tell(new Replay(channel, partition, 1, probe.Ref), probe.Ref);
        Assert.Equal(expected, probe.ReceiveN(expected.Count).Cast<Delivery>());
        Assert.Equal(new ReplayCompleted(channel, partition, expected.Count), probe.ExpectMsg<ReplayCompleted>());
    }

    [Fact]
    public void Channels_replay_every_stored_message_in_order()
    {
        var channels = StartBus().Channels;

        // audit comes from configuration; the others were created at run time: the first five are in the
        // registry's snapshot, archive is the one event after it.
        var names = Ask<ChannelList>(channels, GetChannels.Instance).Names;
        Assert.Equal(["alerts", "alerts-eu", "archive", "audit", "ledger", "metrics", "orders"], names.Where(n => !n.EndsWith(".dlq", StringComparison.Ordinal)));
        // A durable channel comes with its dead-letter channel, an old one too (SPEC §2.6).
        Assert.Contains("orders.dlq", names);
        AssertReplays(channels, "orders", 0, OrdersPartition0);
        AssertReplays(channels, "orders", 1, OrdersPartition1);
        AssertReplays(channels, "audit", 0, Audit);
    }

    [Fact]
    public void Channels_created_at_run_time_keep_their_durability_and_partitions()
    {
        var channels = StartBus().Channels;

        AssertReplays(channels, "ledger", 0, []);
        AssertReplays(channels, "archive", 2, []);
        var probe = CreateTestProbe();
        Assert.Equal("replay needs a partition in 0..2 and a subscriber",
            Ask<ChannelRejected>(channels, new Replay("archive", 3, 1, probe.Ref)).Reason);
        Assert.Equal("replay needs a durable channel", Ask<ChannelRejected>(channels, new Replay("alerts-eu", 0, 1, probe.Ref)).Reason);
        Assert.Equal("replay needs a durable channel", Ask<ChannelRejected>(channels, new Replay("alerts", 0, 1, probe.Ref)).Reason);
    }

    [Fact]
    public void A_new_publish_continues_each_partition_after_its_last_stored_message_and_old_keys_stay_duplicates()
    {
        var channels = StartBus().Channels;
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(channels, new Subscribe("orders", subscriber.Ref));

        // Retried as SPEC §2.4 asks: with the partition key they were published with (customer-1 and customer-3 both
        // land on partition 1), or none. Those of partition 0 were routed there by the old bus however their key
        // hashes (pub-o-04 and pub-o-06 hash to partition 1): they must still be found there.
        foreach (var (key, partition, sequenceNr) in PublishKeys)
        {
            var retry = Ask<PublishAck>(channels, new Publish("orders", new MessageEnvelope("{\"orderId\":\"retry\"}"u8.ToArray(), "shop"), key)
            {
                PartitionKey = partition == 1 ? "customer-1" : null,
            });
            Assert.Equal((true, false, PublishReceipt(partition, sequenceNr)), (retry.Duplicate, retry.Delivered, retry.Receipt));
        }
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        var next0 = Order(0, 7, "o-10");
        Assert.Equal(7, Ask<PublishAck>(channels, new Publish("orders", next0.Envelope, "pub-o-10")).SequenceNr);
        Assert.Equal(next0, subscriber.ExpectMsg<Delivery>());
        // customer-1 is the partition key the writer used for partition 1.
        var next1 = Order(1, 4, "o-11");
        Assert.Equal(4, Ask<PublishAck>(channels, new Publish("orders", next1.Envelope) { PartitionKey = "customer-1" }).SequenceNr);
        Assert.Equal(next1, subscriber.ExpectMsg<Delivery>());
        Assert.Equal(3, Ask<PublishAck>(channels, new Publish("audit", Audit[0].Envelope)).SequenceNr);

        AssertReplays(channels, "orders", 0, [.. OrdersPartition0, next0]);
        AssertReplays(channels, "orders", 1, [.. OrdersPartition1, next1]);
    }

    [Fact]
    public void What_the_current_code_appends_to_the_old_files_replays_together_with_them()
    {
        var bus = StartBus();
        Ask<DedupDecision.Claimed>(bus.Dedup, new ClaimOrGet("order-3001"));
        Ask<ReceiptStored>(bus.Dedup, new CompleteReceipt("order-3001", Receipt("invoice:order-3001:now")));
        Ask<IdempotencyResult.New>(bus.Dedup, new ClaimOrComplete("burst-201", Receipt("receipt:burst-201")));
        Ask<EventRecorded>(bus.Conversations, new RecordProcessingFinished("order-flow-42", "m2"));
        Ask<OffsetCommitted>(bus.Offsets, new CommitOffset("billing", "orders-1", 3));
        Ask<PublishAck>(bus.Channels, new Publish("orders", Order(0, 7, "o-10").Envelope, "pub-o-10"));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);
            foreach (var (key, receipt) in EveryCompletedKey()
                         .Append(("order-3001", Receipt("invoice:order-3001:now")))
                         .Append(("burst-201", Receipt("receipt:burst-201"))))
                Assert.Equal(new KeyStatus(key, new DedupDecision.Completed(receipt)), Ask<KeyStatus>(recovered.Dedup, new LookupKey(key), probe));
            Assert.Equal(new KeyStatus("order-2002", OwnedClaim), Ask<KeyStatus>(recovered.Dedup, new LookupKey("order-2002"), probe));
            Assert.Equal(new KeyStatus("order-3002", null), Ask<KeyStatus>(recovered.Dedup, new LookupKey("order-3002"), probe));

            Assert.Equal(OrderFlow with { InProgress = [], Finished = ["m1", "m2", "m4"], LastSequenceNr = 18 },
                Ask<ConversationSnapshot>(recovered.Conversations, new GetConversationState("order-flow-42"), probe));
            Assert.Equal(new CurrentOffset("billing", "orders-1", 3), Ask<CurrentOffset>(recovered.Offsets, new GetOffset("billing", "orders-1"), probe));
            // The key of the message the current code stored is kept by its partition, not the dedup key space.
            var again = Ask<PublishAck>(recovered.Channels, new Publish("orders", Order(0, 7, "o-10").Envelope, "pub-o-10"), probe);
            Assert.Equal((true, 7L, PublishReceipt(0, 7)), (again.Duplicate, again.SequenceNr, again.Receipt));
            Assert.Equal(8, Ask<PublishAck>(recovered.Channels, new Publish("orders", Order(0, 8, "o-12").Envelope), probe).SequenceNr);
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
