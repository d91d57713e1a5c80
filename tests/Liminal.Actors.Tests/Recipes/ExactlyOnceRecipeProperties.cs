using System.Text;
using System.Text.Json;
using Akka.Actor;
using CsCheck;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.Properties;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Recipes;
using Xunit.Abstractions;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Recipes;

/// <summary>One step of a generated run of a recipe: orders published, or a crash of the bus's actor system.</summary>
public abstract record RecipeStep
{
    private RecipeStep() { }

    /// <summary>Orders published (each answered before the next step).</summary>
    public sealed record PublishOrders(int Count) : RecipeStep;

    /// <summary>A crash set off at the <c>After</c>-th step call (or transform) from now, at most at the last one still owed.</summary>
    public sealed record Crash(CrashPoint Point, int After) : RecipeStep;
}

public sealed record RecipeScenario(int Partitions, RecipeStep[] Steps);

/// <summary>
/// The README's exactly-once recipes (samples/Recipes), run as written on SQLite on disk, with the bus crashed and
/// restarted (no drain) at random points: every order's side effects are applied once and every order ends up acked;
/// every order is invoiced once.
/// </summary>
public sealed class ExactlyOnceRecipeProperties(ITestOutputHelper output) : LiminalTestKit(TestDatabase.NewPath(), CrashOnTerminate)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Scenarios per run; <c>LIMINAL_PROPERTY_ITERATIONS</c> raises it (each crash costs an actor system start).</summary>
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("LIMINAL_PROPERTY_ITERATIONS"), out var n) && n > 0 ? Math.Max(8, n / 10) : 8;

    private static readonly Gen<RecipeScenario> Scenarios =
        Gen.Select(
            Gen.Int[1, 3],
            Gen.Frequency(
                (3, Gen.Int[1, 8].Select(count => (RecipeStep)new RecipeStep.PublishOrders(count))),
                (2, Gen.Select(Gen.OneOf<CrashPoint>(CrashPoint.Anywhere, CrashPoint.BeforeEffect, CrashPoint.AfterEffect), Gen.Int[1, 12],
                    (point, after) => (RecipeStep)new RecipeStep.Crash(point, after)))).Array[1, 6],
            (partitions, steps) => new RecipeScenario(partitions, steps));

    private int _run;
    private int _crashes, _orders, _calls, _reruns, _transforms;

    [Fact]
    public void With_the_StepRunner_recipe_every_side_effect_is_applied_once_and_every_order_acked_across_crashes_of_the_bus()
    {
        Scenarios.Sample(RunFulfilment, iter: Iterations, threads: 1, print: Print);
        output.WriteLine($"{_run} scenarios passed: {_orders} orders, {_crashes} crashes; {_calls} step calls, " +
                         $"{_reruns} of them a step run again after a crash (its key applied once)");
    }

    [Fact]
    public void With_the_consume_transform_publish_recipe_every_order_is_invoiced_once_across_crashes_of_the_bus()
    {
        Scenarios.Sample(RunInvoicing, iter: Iterations, threads: 1, print: Print);
        output.WriteLine($"{_run} scenarios passed: {_orders} orders, {_crashes} crashes; {_transforms} transforms " +
                         $"({_transforms - _orders} of them redeliveries whose invoice the key suppressed or that a crash cut short)");
    }

    private void RunFulfilment(RecipeScenario scenario)
    {
        var channel = $"orders{++_run}";
        var settings = Settings(new ChannelDefinition(channel, Durable: true, Partitions: scenario.Partitions));
        var orders = new RecordingOrderSystem();
        var published = new HashSet<string>();
        var system = StartSystemOnSameDatabase();
        var bus = LiminalBus.Start(system, settings);
        try
        {
            Fulfilment.SubscribeAsync(system, bus.Channels, bus.Conversations, channel, orders.ForCurrentRun()).GetAwaiter().GetResult();
            foreach (var step in scenario.Steps)
            {
                switch (step)
                {
                    case RecipeStep.PublishOrders publish:
                        published.UnionWith(PublishOrders(system, bus, channel, publish.Count));
                        break;
                    case RecipeStep.Crash crash:
                        var owed = EffectsOf(published).Except(orders.Applied).Count();
                        if (owed > 0 && !orders.Arm(crash.Point, Math.Min(crash.After, owed)).Wait(Patience))
                            throw new PropertyViolation($"{owed} effects owed, but the {Math.Min(crash.After, owed)}-th call from now never came");
                        orders.Crash();
                        system = Restart(system, settings, out bus);
                        Fulfilment.SubscribeAsync(system, bus.Channels, bus.Conversations, channel, orders.ForCurrentRun()).GetAwaiter().GetResult();
                        break;
                }
            }

            orders.Crash();
            system = Restart(system, settings, out bus);
            Fulfilment.SubscribeAsync(system, bus.Channels, bus.Conversations, channel, orders.ForCurrentRun()).GetAwaiter().GetResult();
            var stored = EveryOrderAcked(system, bus, channel, "fulfilment", scenario.Partitions, published);

            var missing = EffectsOf(stored).Except(orders.Applied).ToList();
            var stray = orders.Applied.Except(EffectsOf(stored)).ToList();
            if (missing.Count > 0 || stray.Count > 0)
                throw new PropertyViolation($"effects never applied: [{string.Join(", ", missing)}]; applied for no stored order: [{string.Join(", ", stray)}]");
            var calls = orders.Calls;
            var twiceInOneRun = calls.GroupBy(c => c).Where(g => g.Count() > 1).Select(g => $"{g.Key.Key} ×{g.Count()} in run {g.Key.Run}").ToList();
            if (twiceInOneRun.Count > 0)
                throw new PropertyViolation($"a step ran twice in one run of the bus: {string.Join(", ", twiceInOneRun)}");
            _calls += calls.Count;
            _reruns += calls.Count - calls.Select(c => c.Key).Distinct().Count();
        }
        finally
        {
            Shutdown(system);
        }
    }

    private void RunInvoicing(RecipeScenario scenario)
    {
        var source = $"orders{++_run}";
        var target = $"invoices{_run}";
        var settings = Settings(
            new ChannelDefinition(source, Durable: true, Partitions: scenario.Partitions),
            new ChannelDefinition(target, Durable: true, Partitions: 2));
        var published = new HashSet<string>();
        var transformed = new HashSet<string>();
        TaskCompletionSource? trap = null;
        var trapAt = 0;
        var transforms = 0;
        var gate = new object();
        // The recipe's transform as written, counted; a crash can be set off at a chosen call of it.
        MessageEnvelope Transform(Delivery order)
        {
            lock (gate)
            {
                transformed.Add(Position.Of(order));
                if (++transforms == trapAt)
                    trap?.TrySetResult();
            }
            return Invoicing.Invoice(order);
        }

        var system = StartSystemOnSameDatabase();
        var bus = LiminalBus.Start(system, settings);
        try
        {
            Invoicing.SubscribeAsync(system, bus.Channels, source, target, Transform).GetAwaiter().GetResult();
            foreach (var step in scenario.Steps)
            {
                switch (step)
                {
                    case RecipeStep.PublishOrders publish:
                        published.UnionWith(PublishOrders(system, bus, source, publish.Count));
                        break;
                    case RecipeStep.Crash crash:
                        Task? due = null;
                        lock (gate)
                        {
                            var owed = published.Except(transformed).Count();
                            if (owed > 0)
                            {
                                trap = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                                trapAt = transforms + Math.Min(crash.After, owed);
                                due = trap.Task;
                            }
                        }
                        if (due is not null && !due.Wait(Patience))
                            throw new PropertyViolation("an order owed a transform was never transformed");
                        system = Restart(system, settings, out bus);
                        Invoicing.SubscribeAsync(system, bus.Channels, source, target, Transform).GetAwaiter().GetResult();
                        break;
                }
            }

            system = Restart(system, settings, out bus);
            Invoicing.SubscribeAsync(system, bus.Channels, source, target, Transform).GetAwaiter().GetResult();
            var stored = EveryOrderAcked(system, bus, source, "invoicing", scenario.Partitions, published);

            var ordersLog = this.ReadAllLogs(system, bus.Channels, source, scenario.Partitions).ToDictionary(Position.Of);
            var invoices = this.ReadAllLogs(system, bus.Channels, target, 2)
                .Select(invoice => JsonDocument.Parse(invoice.Envelope.Payload).RootElement)
                .GroupBy(invoice => invoice.GetProperty("invoiceFor").GetString()!)
                .ToDictionary(g => g.Key, g => g.ToList());
            var twice = invoices.Where(i => i.Value.Count > 1).Select(i => $"{i.Key} ×{i.Value.Count}").ToList();
            var missing = stored.Where(order => !invoices.ContainsKey(order)).ToList();
            var stray = invoices.Keys.Where(order => !stored.Contains(order)).ToList();
            if (twice.Count > 0 || missing.Count > 0 || stray.Count > 0)
                throw new PropertyViolation($"invoiced twice: [{string.Join(", ", twice)}]; never: [{string.Join(", ", missing)}]; for no order: [{string.Join(", ", stray)}]");
            foreach (var (order, invoice) in invoices)
            {
                if (invoice[0].GetProperty("order").GetRawText() != Encoding.UTF8.GetString(ordersLog[order].Envelope.Payload))
                    throw new PropertyViolation($"the invoice for {order} carries {invoice[0].GetProperty("order").GetRawText()}");
            }
            _transforms += transforms;
        }
        finally
        {
            Shutdown(system);
        }
    }

    private LiminalSettings Settings(params ChannelDefinition[] channels) =>
        DefaultSettings with { Channels = channels };

    private static IEnumerable<string> EffectsOf(IEnumerable<string> orders) =>
        orders.SelectMany(order => new[] { $"{order}/reserve", $"{order}/notify" });

    /// <summary>Publishes <paramref name="count"/> orders spread over the partitions; their positions.</summary>
    private IEnumerable<string> PublishOrders(ActorSystem system, LiminalBus bus, string channel, int count)
    {
        var probe = CreateTestProbe(system);
        for (var i = 0; i < count; i++)
        {
            var n = ++_orders;
            bus.Channels.Tell(new Publish(channel, new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"order\":{n}}}"), "shop"))
                { PartitionKey = $"customer-{n}" }, probe.Ref);
        }
        var positions = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var ack = probe.ExpectMsg<PublishAck>(Patience);
            positions.Add($"{ack.Channel}/{ack.Partition}/{ack.SequenceNr}");
        }
        return positions;
    }

    /// <summary>The bus dies without drain; the clock passes the dead run's leases; a new actor system starts on the same file.</summary>
    private ActorSystem Restart(ActorSystem system, LiminalSettings settings, out LiminalBus bus)
    {
        _crashes++;
        Shutdown(system);
        Clock.Advance(settings.ConversationLease + TimeSpan.FromSeconds(1));
        var restarted = StartSystemOnSameDatabase();
        bus = LiminalBus.Start(restarted, settings);
        return restarted;
    }

    /// <summary>
    /// Waits until the consumer has acked every message of every partition (nothing pending, nothing dead-lettered),
    /// then checks the log holds exactly the orders published; their positions.
    /// </summary>
    private HashSet<string> EveryOrderAcked(ActorSystem system, LiminalBus bus, string channel, string consumer, int partitions, HashSet<string> published)
    {
        var last = Enumerable.Range(0, partitions).Select(partition => published
            .Select(position => position.Split('/')).Where(parts => parts[1] == $"{partition}").Select(parts => long.Parse(parts[2]))
            .DefaultIfEmpty(0).Max()).ToArray();
        var probe = CreateTestProbe(system);
        AwaitAssert(() =>
        {
            bus.Channels.Tell(new GetConsumerInfo(channel, consumer), probe.Ref);
            var info = probe.ExpectMsg<ConsumerInfo>(Patience);
            Assert.All(info.Partitions, p =>
                Assert.Equal((last[p.Partition], last[p.Partition], 0, 0L), (p.LastSequenceNr, p.AckFloor, p.Pending, p.DeadLettered)));
        }, Patience, TimeSpan.FromMilliseconds(100));
        var stored = this.ReadAllLogs(system, bus.Channels, channel, partitions).Select(Position.Of).ToHashSet();
        if (!stored.SetEquals(published))
            throw new PropertyViolation($"stored [{string.Join(", ", stored)}] but published [{string.Join(", ", published)}]");
        return stored;
    }

    private static string Print(RecipeScenario scenario) =>
        $"{scenario.Partitions} partition(s): " + string.Join("; ", scenario.Steps.Select(step => step switch
        {
            RecipeStep.PublishOrders p => $"publish {p.Count}",
            RecipeStep.Crash c => $"crash {c.Point} at call {c.After}",
            _ => "?",
        })) + "; crash; all acked";
}
