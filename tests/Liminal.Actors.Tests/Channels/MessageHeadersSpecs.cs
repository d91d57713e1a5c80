using System.Diagnostics;
using System.Text;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Tracing;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Tests.Channels;

/// <summary>SPEC §2.5: an envelope's headers are validated, stored with its message and delivered with it, live and by replay.</summary>
public sealed class MessageHeadersSpecs : LiminalTestKit
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true, OrderSchema.FilePath)] };

    private static MessageEnvelope Envelope(string orderId, IReadOnlyDictionary<string, string>? headers) =>
        new(OrderSchema.Order(orderId), "shop", Headers: headers);

    private static readonly Dictionary<string, string> Headers = new()
    {
        [LiminalTracing.TraceParent] = TraceParent,
        ["x-tenant"] = "acme",
        ["note"] = "caf\u00e9 \ud83d\ude00",
    };

    /// <summary>
    /// A message published without headers has none, unless an ActivitySource listener is attached somewhere in the
    /// process (tests of other classes run in parallel and attach one): then its publish span's trace context is all
    /// the bus adds.
    /// </summary>
    private static void AssertNoHeadersButATraceOfItsPublish(IReadOnlyDictionary<string, string>? headers) =>
        Assert.True(headers is null || headers.Keys.All(k => k is LiminalTracing.TraceParent or "tracestate"),
            $"unexpected headers: {string.Join(", ", headers?.Keys ?? [])}");

    [Fact]
    public void Headers_are_delivered_live_and_after_a_restart_by_Replay_exactly_as_published()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("o1", Headers), "o1"));
        Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("o2", null), "o2"));
        var live = subscriber.ReceiveN(2).Cast<Delivery>().ToList();
        Assert.Equal(Headers, live[0].Envelope.Headers);
        AssertNoHeadersButATraceOfItsPublish(live[1].Envelope.Headers);
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);
            recovered.Channels.Tell(new Replay("orders", 0, 1, probe.Ref), probe.Ref);
            var replayed = probe.ReceiveN(2).Cast<Delivery>().ToList();
            probe.ExpectMsg<ReplayCompleted>();

            Assert.Equal(Headers, replayed[0].Envelope.Headers);
            AssertNoHeadersButATraceOfItsPublish(replayed[1].Envelope.Headers);
            Assert.Equal(live.Select(d => d.Envelope), replayed.Select(d => d.Envelope));
            Assert.True(Ask<PublishAck>(recovered.Channels, new Publish("orders", Envelope("o1", Headers), "o1"), probe).Duplicate);
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    public static TheoryData<string, Dictionary<string, string>> MalformedHeaders() => new()
    {
        { "33 headers", Enumerable.Range(0, InputRules.MaxHeaders + 1).ToDictionary(i => $"h{i}", _ => "v") },
        { "a name with a space", new() { ["x tenant"] = "acme" } },
        { "an empty name", new() { [""] = "acme" } },
        { "an empty value", new() { ["x-tenant"] = "" } },
        { "a control character", new() { ["x-tenant"] = "ac\nme" } },
        { "a lone surrogate", new() { ["x-tenant"] = "ac\ud800me" } },
        { "too many bytes together", new() { ["a"] = new string('a', 3000), ["b"] = new string('b', 1500) } },
        { "a null value", new() { ["x-tenant"] = null! } },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Malformed_headers_get_a_typed_rejection_naming_them_and_nothing_is_stored(string what, Dictionary<string, string> headers)
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        var rejected = Ask<PublishRejected>(bus.Channels, new Publish("orders", Envelope("o1", headers), "o1"));

        Assert.True(rejected.Reason == PublishFailure.SchemaMismatch, what);
        Assert.Contains("header", rejected.Detail);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        // The key was not taken: the same publish with well-formed headers is stored as new.
        Assert.False(Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("o1", Headers), "o1")).Duplicate);
        Assert.Equal(1, JournalRows("channel-orders-"));
    }

    [Fact]
    public void A_message_stored_in_the_format_before_headers_replays_without_headers_and_its_key_stays_a_duplicate()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("o1", Headers), "o1"));
        Shutdown(Sys);
        // The event exactly as the version before headers wrote it (channel.message-appended.v1 of 084fd8d).
        var payload = Convert.ToBase64String(OrderSchema.Order("o1"));
        var previousFormat = $$"""{"payload":"{{payload}}","publisherId":"shop","correlationId":null,"causationId":null,"idempotencyKey":"o1","storedAtMillis":{{Clock.GetUtcNow().ToUnixTimeMilliseconds()}}}""";
        ExecuteSql($"UPDATE journal SET message = CAST('{previousFormat}' AS BLOB) WHERE persistence_id = 'channel-orders-0'");

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);
            recovered.Channels.Tell(new Replay("orders", 0, 1, probe.Ref), probe.Ref);

            var replayed = probe.ExpectMsg<Delivery>();
            Assert.Equal(new MessageEnvelope(OrderSchema.Order("o1"), "shop"), replayed.Envelope);
            Assert.Null(replayed.Envelope.Headers);
            probe.ExpectMsg<ReplayCompleted>();
            Assert.True(Ask<PublishAck>(recovered.Channels, new Publish("orders", Envelope("o1", null), "o1"), probe).Duplicate);
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void A_publish_without_a_trace_parent_carries_its_publish_span_as_one_and_its_store_deliver_and_ack_spans_follow_it()
    {
        using var spans = new RecordedSpans();
        var bus = LiminalBus.Start(Sys, Settings);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("o1", new Dictionary<string, string> { ["x-tenant"] = "acme" }), "o1"));
        var delivered = subscriber.ExpectMsg<Delivery>().Envelope;

        Assert.Equal("acme", delivered.Headers!["x-tenant"]);
        var context = LiminalTracing.ContextOf(delivered);
        Assert.NotEqual(default, context);
        var trace = spans.Of(context.TraceId);
        var publish = Assert.Single(trace, s => s.DisplayName == "publish orders");
        Assert.Equal(context.SpanId, publish.SpanId);
        Assert.Equal(default, publish.ParentSpanId);
        foreach (var name in new[] { "store orders", "deliver orders", "ack orders" })
            Assert.Equal(publish.SpanId, Assert.Single(trace, s => s.DisplayName == name).ParentSpanId);
        Assert.Equal(1L, Assert.Single(trace, s => s.DisplayName == "store orders").GetTagItem("liminal.sequence_nr"));
    }
}
