using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;
using Liminal.Actors.Dedup;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Wire;

/// <summary>
/// Messages as a client of <c>f8113fc</c> put them on the wire still decode to the same records today: the bytes below
/// are what that version's <c>LiminalWireSerializer</c> produced (serializer id 7412, the manifest beside them), captured
/// by a throwaway program built against <c>src/Liminal.Actors</c> of <c>f8113fc</c> (<c>git archive f8113fc</c>), which
/// created an actor system with that version's <c>LiminalSettings.DefaultConfig</c>, asked it for each message's
/// serializer and printed <c>Manifest</c> and Base64 of <c>ToBinary</c>. Never edit them: they are what that version wrote.
/// </summary>
public sealed class F8113fcWireSpecs : LiminalTestKit
{
    public static TheoryData<string, string, object> WrittenByF8113fc() => new()
    {
        { "Channels.Publish", "eyJjaGFubmVsIjoib3JkZXJzIiwiZW52ZWxvcGUiOnsicGF5bG9hZCI6ImV5SnZjbVJsY2tsa0lqbzBNbjA9IiwicHVibGlzaGVySWQiOiJzaG9wLWNhZlx1MDBFOSIsImNhdXNhbCI6eyJjb3JyZWxhdGlvbklkIjoiY29yci0xIiwiY2F1c2F0aW9uSWQiOiJjYXVzZS0xIn19LCJpZGVtcG90ZW5jeUtleSI6Im9yZGVyLTQyIiwicGFydGl0aW9uS2V5IjoiY3VzdG9tZXItNyJ9",
            new Publish("orders", new MessageEnvelope("{\"orderId\":42}"u8.ToArray(), "shop-café", new CausalContext("corr-1", "cause-1")), "order-42") { PartitionKey = "customer-7" } },
        { "Channels.Publish", "eyJjaGFubmVsIjoicGluZ3MiLCJlbnZlbG9wZSI6eyJwYXlsb2FkIjoiQVFJRCIsInB1Ymxpc2hlcklkIjoicCIsImNhdXNhbCI6bnVsbH0sImlkZW1wb3RlbmN5S2V5IjpudWxsLCJwYXJ0aXRpb25LZXkiOm51bGx9",
            new Publish("pings", new MessageEnvelope([1, 2, 3], "p")) },
        { "Channels.PublishAck", "eyJjaGFubmVsIjoib3JkZXJzIiwicGFydGl0aW9uIjoxLCJzZXF1ZW5jZU5yIjo3LCJkZWxpdmVyZWQiOnRydWUsImRlbGl2ZXJlZENvdW50IjoyLCJkdXBsaWNhdGUiOmZhbHNlLCJpbkZsaWdodCI6ZmFsc2UsInJlY2VpcHQiOnsiYnl0ZXMiOiJlMzMvIn19",
            new PublishAck("orders", 1, 7, true, 2, false, false, new ProcessingReceipt([0x7b, 0x7d, 0xff])) },
        { "Channels.PublishAck", "eyJjaGFubmVsIjoib3JkZXJzIiwicGFydGl0aW9uIjowLCJzZXF1ZW5jZU5yIjpudWxsLCJkZWxpdmVyZWQiOmZhbHNlLCJkZWxpdmVyZWRDb3VudCI6MCwiZHVwbGljYXRlIjp0cnVlLCJpbkZsaWdodCI6dHJ1ZSwicmVjZWlwdCI6bnVsbH0=",
            new PublishAck("orders", 0, null, false, 0, true, true, null) },
        { "Channels.PublishRejected", "eyJjaGFubmVsIjoib3JkZXJzIiwicmVhc29uIjoxLCJkZXRhaWwiOiIjL29yZGVySWQ6IHJlcXVpcmVkIn0=",
            new PublishRejected("orders", PublishFailure.SchemaMismatch, "#/orderId: required") },
        { "Channels.Delivery", "eyJjaGFubmVsIjoib3JkZXJzIiwicGFydGl0aW9uIjoxLCJzZXF1ZW5jZU5yIjo3LCJlbnZlbG9wZSI6eyJwYXlsb2FkIjoiQ1FnPSIsInB1Ymxpc2hlcklkIjoic2hvcCIsImNhdXNhbCI6eyJjb3JyZWxhdGlvbklkIjpudWxsLCJjYXVzYXRpb25JZCI6ImMifX19",
            new Delivery("orders", 1, 7, new MessageEnvelope([9, 8], "shop", new CausalContext(null, "c"))) },
        { "Conversations.ReceiveMessage", "eyJjb252ZXJzYXRpb25JZCI6Im9yZGVyLWZsb3ctNDIiLCJtZXNzYWdlSWQiOiJtMSJ9",
            new ReceiveMessage("order-flow-42", "m1") },
        { "Conversations.RecordStepCompleted", "eyJjb252ZXJzYXRpb25JZCI6Im9yZGVyLWZsb3ctNDIiLCJtZXNzYWdlSWQiOiJtMSIsInN0ZXBJbmRleCI6Miwib3V0cHV0IjoiZXlKemRHVndJam95ZlE9PSJ9",
            new RecordStepCompleted("order-flow-42", "m1", 2, "{\"step\":2}"u8.ToArray()) },
        { "Conversations.RedeliveryDecision+ResumeFrom", "eyJzdGVwSW5kZXgiOjN9",
            new RedeliveryDecision.ResumeFrom(3) },
        { "Conversations.ConversationRejected", "eyJjb252ZXJzYXRpb25JZCI6Im9yZGVyLWZsb3ctNDIiLCJtZXNzYWdlSWQiOiJtMSIsInJlYXNvbiI6Im5vdC1yZWNlaXZlZCIsImRldGFpbCI6Im5ldmVyIHJlY2VpdmVkIn0=",
            new ConversationRejected("order-flow-42", "m1", ConversationRejections.NotReceived) { Detail = "never received" } },
        { "Conversations.ConversationSnapshot", "eyJjb252ZXJzYXRpb25JZCI6ImMiLCJyZWNlaXZlZCI6WyJhIiwiYiJdLCJpblByb2dyZXNzIjpbImIiXSwiZmluaXNoZWQiOlsiYSJdLCJlcnJvcmVkIjpbeyJtZXNzYWdlSWQiOiJiIiwiZXJyb3IiOiJib29tIn1dLCJjb21wbGV0ZWRTdGVwcyI6W3sibWVzc2FnZUlkIjoiYSIsInN0ZXBJbmRleCI6MCwib3V0cHV0IjoiQ1E9PSJ9XSwibGFzdFNlcXVlbmNlTnIiOjd9",
            new ConversationSnapshot("c", ["a", "b"], ["b"], ["a"], [new MessageError("b", "boom")], [new CompletedStep("a", 0, [9])], 7) },
        { "Dedup.ClaimOrGet", "eyJrZXkiOiJvcmRlci0xMDAxIiwib3duZXIiOiJidXMtMSJ9",
            new ClaimOrGet("order-1001") { Owner = "bus-1" } },
        { "Dedup.KeyStatus", "eyJrZXkiOiJvcmRlci0xMDAxIiwiZGVjaXNpb24iOnsiJGRlY2lzaW9uIjoiY29tcGxldGVkIiwicmVjZWlwdCI6eyJieXRlcyI6IkFRSUQifX19",
            new KeyStatus("order-1001", new DedupDecision.Completed(new ProcessingReceipt([1, 2, 3]))) },
        { "Dedup.KeyStatus", "eyJrZXkiOiJvcmRlci0yMDAxIiwiZGVjaXNpb24iOnsiJGRlY2lzaW9uIjoiaW4tZmxpZ2h0IiwiY2xhaW1lZEF0TWlsbGlzIjoxNzY3MjI1NjAwMDAwLCJvd25lciI6ImJ1cy0wIn19",
            new KeyStatus("order-2001", new DedupDecision.InFlight(1767225600000) { Owner = "bus-0" }) },
        { "Dedup.IdempotencyResult+Duplicate", "eyJvcmlnaW5hbCI6eyJieXRlcyI6IkJBVT0ifX0=",
            new IdempotencyResult.Duplicate(new ProcessingReceipt([4, 5])) },
        { "Dedup.DedupRejected", "eyJrZXkiOiJrIiwicmVhc29uIjo1LCJkZXRhaWwiOiJqb3VybmFsIHdyaXRlIGZhaWxlZCJ9",
            new DedupRejected("k", DedupRejection.PersistFailed) { Detail = "journal write failed" } },
        { "Offsets.CommitOffset", "eyJjb25zdW1lciI6ImJpbGxpbmciLCJzdHJlYW0iOiJvcmRlcnMtMCIsIm9mZnNldCI6M30=",
            new CommitOffset("billing", "orders-0", 3) },
        { "Offsets.CurrentOffset", "eyJjb25zdW1lciI6ImJpbGxpbmciLCJzdHJlYW0iOiJvcmRlcnMtMCIsIm9mZnNldCI6bnVsbH0=",
            new CurrentOffset("billing", "orders-0", null) },
        { "Channels.CreateChannel", "eyJkZWZpbml0aW9uIjp7Im5hbWUiOiJvcmRlcnMiLCJkdXJhYmxlIjp0cnVlLCJzY2hlbWFQYXRoIjoic2NoZW1hcy9vcmRlci5qc29uIiwicGFydGl0aW9ucyI6Mn19",
            new CreateChannel(new ChannelDefinition("orders", true, "schemas/order.json", 2)) },
        { "Dedup.SweepExpired", "e30=",
            SweepExpired.Instance },
    };

    [Theory]
    [MemberData(nameof(WrittenByF8113fc))]
    public void A_message_serialized_by_the_f8113fc_client_decodes_to_the_same_record(string manifest, string base64, object expected)
    {
        var decoded = Sys.Serialization.Deserialize(Convert.FromBase64String(base64), LiminalWireSerializer.Id, manifest);

        Assert.Equal(expected.GetType(), decoded.GetType());
        Assert.Equal(expected, decoded);
        Assert.Equal(manifest, LiminalWireSerializer.Manifests[decoded.GetType()]);
    }
}
