using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests;

/// <summary>Every public request and reply survives the actor system's serializer with value equality intact.</summary>
public sealed class ProtocolSerializationSpecs : LiminalTestKit
{
    private static readonly ProcessingReceipt Receipt = new([1, 2, 3]);

    public static TheoryData<object> Messages() =>
    [
        new ClaimOrGet("k"), new ClaimOrGet("k") { Owner = "bus-1" }, new TakeOverClaim("k", "bus-0", "bus-1"),
        new DedupDecision.InFlight(3) { Owner = "bus-0" }, new LookupKey("k"), new KeyStatus("k", null), new KeyStatus("k", new DedupDecision.Claimed()),
        new KeyStatus("k", new DedupDecision.InFlight(42)), new KeyStatus("k", new DedupDecision.Completed(Receipt)),
        new DedupDecision.Claimed(), new DedupDecision.InFlight(7), new DedupDecision.Completed(Receipt),
        new CompleteReceipt("k", Receipt), new ReceiptStored("k"), new DedupRejected("k", DedupRejection.ReceiptMismatch),
        new DedupRejected("k", DedupRejection.PersistFailed) { Detail = "journal write failed" },
        new ReleaseClaim("k"), new ClaimReleased("k", true), SweepExpired.Instance, new SweepReport(3, 2, 1), new SweepFailed("x"),
        new ClaimOrComplete("k", Receipt), new IdempotencyResult.New(), new IdempotencyResult.Duplicate(Receipt),
        new IdempotencyResult.InFlight(9),
        new ReceiveMessage("c", "m"), new RedeliveryDecision.Start(), new RedeliveryDecision.Skip(), new RedeliveryDecision.ResumeFrom(2),
        new RecordProcessingStarted("c", "m"), new RecordStepCompleted("c", "m", 1, [1, 2]), new RecordProcessingFinished("c", "m"),
        new RecordError("c", "m", "boom"), new EventRecorded("c", 42), new GetConversationState("c"),
        new ConversationRejected("c", "m", ConversationRejections.NotReceived) { Detail = "never received" },
        new ConversationSnapshot("c", ["a", "b"], ["b"], ["a"], [new MessageError("b", "x")], [new CompletedStep("a", 0, [9])], 7),
        GetEntityStats.Instance, new EntityStats(3, 1),
        new CommitOffset("c", "s", 3), new OffsetCommitted("c", "s", 3), new OffsetRejected("c", "s", 5, 3), new GetOffset("c", "s"),
        new CurrentOffset("c", "s", null), new CurrentOffset("c", "s", 7), new RecordProcessed("p", "e"), new ProcessedRecorded("p", "e"),
        new WasProcessed("p", "e"), new ProcessedStatus("p", "e", true), new OffsetRequestRejected("c", "offset -1 is negative"),
        new CreateChannel(new ChannelDefinition("orders", true, "schema.json", 4)), new ChannelCreated("orders"), new ChannelRejected("orders", "exists"),
        new Publish("orders", new MessageEnvelope([1, 2], "shop", new CausalContext("corr", "cause")), "key") { PartitionKey = "customer" },
        new PublishAck("orders", 1, 7, true, 3, false, false, Receipt), new PublishRejected("orders", PublishFailure.SchemaMismatch, "#/orderId"),
        new Delivery("orders", 0, 5, new MessageEnvelope([3], "shop")), new Delivery("pings", 0, null, new MessageEnvelope([4], "p")),
        new ReplayCompleted("orders", 0, 9), new Subscribed("orders"), new Unsubscribed("orders"),
        DeliveryAck.Instance, new DeliveriesDropped("orders", 0, 3, 7, 5),
        new RedeliveryDecision.InProgress(1767225630000), new GetStepOutput("c", "m", 1), new StepOutput("c", "m", 1, [1, 2]),
        new StepOutput("c", "m", 2, null),
        new Publish("orders", new MessageEnvelope([1], "shop", null, new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", ["x-tenant"] = "acme" })),
        new Delivery("orders", 0, 5, new MessageEnvelope([3], "shop", new CausalContext("corr", null), new Dictionary<string, string> { ["note"] = "caf\u00e9" })),
        new ConsumerOptions(), new DeliverFrom.All(), new DeliverFrom.New(), new DeliverFrom.Sequence(3),
        new ConsumerSubscribed("orders", "billing"), new Ack("orders", "billing", 1, 5), new Acked("orders", "billing", 1, 5),
        new Nak("orders", "billing", 1, 5), new Nak("orders", "billing", 1, 5, TimeSpan.FromSeconds(2)), new Term("orders", "billing", 1, 5, "bad"),
        new GetConsumerInfo("orders", "billing"),
        new ConsumerInfo("orders", "billing", [new PartitionConsumerInfo(0, 4, 9, 2, 1, 1), new PartitionConsumerInfo(1, 0, 0, 0, 0, 0)], 3),
        new PartitionConsumerInfo(0, 4, 9, 2, 1, 1), new DeleteConsumer("orders", "billing"), new ConsumerDeleted("orders", "billing"),
        new Redelivering("orders", "billing", 0, 3), new DeadLettered("orders", "billing", 0, 3), new AckRejected("orders", "billing", 0, 3, "not pending"),
        new RedriveDeadLetter("orders.dlq", 4), new PurgeChannel("orders"), new ChannelPurged("orders", [5, 1]),
        new MessagesSkipped("orders", "billing", 0, 1, 4, 4),
        new Delivery("orders", 0, 5, new MessageEnvelope([3], "shop")) { Consumer = "billing", Attempt = 3 },
    ];

    [Fact]
    public void A_durable_subscribe_round_trips_with_its_options_and_subscriber()
    {
        var serializer = (LiminalWireSerializer)Sys.Serialization.FindSerializerForType(typeof(SubscribeDurable));
        foreach (var options in new[]
                 {
                     new ConsumerOptions(),
                     new ConsumerOptions { DeliverFrom = new DeliverFrom.New() },
                     new ConsumerOptions
                     {
                         MaxAckPending = 7, AckWait = TimeSpan.FromMilliseconds(1500), MaxDeliver = 2, DeliverFrom = new DeliverFrom.Sequence(9),
                         Filter = "customer.tier == \"gold\"", DeadLetterChannel = "orders-dead",
                     },
                 })
        {
            var subscribe = new SubscribeDurable("orders", "billing", TestActor, options);
            Assert.Equal(subscribe, serializer.FromBinary(serializer.ToBinary(subscribe), serializer.Manifest(subscribe)));
        }
    }

    [Fact]
    public void An_envelope_without_headers_is_the_JSON_it_was_before_headers_and_that_JSON_still_decodes()
    {
        var serializer = (LiminalWireSerializer)Sys.Serialization.FindSerializerForType(typeof(Publish));
        var publish = new Publish("orders", new MessageEnvelope([1, 2], "shop"), "key");
        // As 084fd8d (and f8113fc's client) write a publish: no headers member at all.
        const string before = """{"channel":"orders","envelope":{"payload":"AQI=","publisherId":"shop","causal":null},"idempotencyKey":"key","partitionKey":null}""";

        Assert.Equal(before, System.Text.Encoding.UTF8.GetString(serializer.ToBinary(publish)));
        var decoded = (Publish)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(before), serializer.Manifest(publish));
        Assert.Equal(publish, decoded);
        Assert.Null(decoded.Envelope.Headers);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void A_protocol_message_round_trips_through_the_configured_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<LiminalWireSerializer>(serializer);
        var bytes = serializer.ToBinary(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var copy = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.Equal(message, copy);
        Assert.Equal(message.GetType(), copy.GetType());
    }
}
