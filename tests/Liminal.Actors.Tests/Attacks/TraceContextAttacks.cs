using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Actors.Tracing;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// A <c>traceparent</c> a producer gets wrong is no trace parent: the publish is taken, its spans start a trace of their
/// own and the message carries that one. Spans recorded while many publishes run at once never throw and never leave
/// <see cref="Activity.Current"/> set on the threads that run actors.
/// </summary>
public sealed class TraceContextAttacks : LiminalTestKit
{
    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("t", Durable: true, Partitions: 4)] };

    public static TheoryData<string> Malformed() =>
    [
        "garbage",
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-" + new string('x', 3000),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033\u00e9-01",
        " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ];

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_traceparent_is_no_parent_and_the_message_carries_the_trace_its_publish_started(string traceParent)
    {
        using var spans = new RecordedSpans();
        var bus = LiminalBus.Start(Sys, Settings);
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("t", subscriber.Ref));

        Assert.IsType<PublishAck>(Ask<object>(bus.Channels, new Publish("t",
            new MessageEnvelope(ChannelReading.Payload("k"), "shop", Headers: new Dictionary<string, string> { [LiminalTracing.TraceParent] = traceParent, ["x-tenant"] = "acme" }))));

        var delivered = subscriber.ExpectMsg<Delivery>().Envelope;
        Assert.Equal("acme", delivered.Headers!["x-tenant"]);
        var context = LiminalTracing.ContextOf(delivered);
        Assert.NotEqual(default, context);
        var publish = Assert.Single(spans.Of(context.TraceId), s => s.DisplayName == "publish t");
        Assert.Equal((context.SpanId, default(ActivitySpanId)), (publish.SpanId, publish.ParentSpanId));
        Assert.DoesNotContain(traceParent, delivered.Headers.Values);
    }

    [Fact]
    public void Many_concurrent_traced_publishes_are_each_answered_in_their_own_trace_and_no_actor_thread_keeps_a_current_activity()
    {
        using var spans = new RecordedSpans();
        var bus = LiminalBus.Start(Sys, Settings);
        var seen = new ConcurrentQueue<(string? Current, Delivery Delivery)>();
        var subscriber = Sys.ActorOf(Props.Create(() => new CurrentActivityRecorder(seen)));
        Ask<Subscribed>(bus.Channels, new Subscribe("t", subscriber));
        const int publishes = 200;

        var parents = new ConcurrentDictionary<int, ActivityContext>();
        Parallel.For(0, publishes, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var produce = RecordedSpans.Producer.StartActivity("produce", ActivityKind.Producer);
            parents[i] = produce!.Context;
            var envelope = new MessageEnvelope(ChannelReading.Payload($"k{i}", i), "shop").WithTraceContext(produce);
            bus.Channels.Tell(new Publish("t", envelope, $"k{i}") { PartitionKey = $"p{i}" }, TestActor);
        });

        var replies = ReceiveN(publishes, TimeSpan.FromSeconds(60));
        Assert.All(replies, reply => Assert.IsType<PublishAck>(reply));
        AwaitCondition(() => seen.Count == publishes, TimeSpan.FromSeconds(30));
        // An actor's thread runs the next actor's message: a span the bus recorded must not be current there.
        Assert.All(seen, s => Assert.Null(s.Current));
        foreach (var (_, delivery) in seen)
        {
            var parent = parents[(int)ChannelReading.NumberOf(delivery)];
            Assert.Equal((parent.TraceId, parent.SpanId), (LiminalTracing.ContextOf(delivery.Envelope).TraceId, LiminalTracing.ContextOf(delivery.Envelope).SpanId));
            var trace = spans.Of(parent.TraceId);
            foreach (var name in new[] { "publish t", "store t", "deliver t" })
                Assert.Equal(parent.SpanId, Assert.Single(trace, s => s.DisplayName == name).ParentSpanId);
        }
    }

    private sealed class CurrentActivityRecorder : ReceiveActor
    {
        public CurrentActivityRecorder(ConcurrentQueue<(string? Current, Delivery Delivery)> seen) =>
            Receive<Delivery>(delivery => seen.Enqueue((Activity.Current?.DisplayName, delivery)));
    }
}
