// Connects to a running Liminal host, subscribes, and publishes the same order twice with one idempotency key:
// the subscriber receives it once, and the second publish is answered as a duplicate with the first receipt.
using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Client;

var hostname = args.Length > 0 ? args[0] : "127.0.0.1";
var port = args.Length > 1 ? int.Parse(args[1]) : 8557;

using var system = LiminalClient.CreateSystem();
var bus = await LiminalClient.ConnectAsync(system, hostname, port);
Console.WriteLine($"connected to akka.tcp://liminal@{hostname}:{port}");

var delivered = new TaskCompletionSource<Delivery>();
var subscriber = system.ActorOf(Props.Create(() => new PrintingSubscriber(delivered)), "subscriber");
await bus.Channels.Ask<Subscribed>(new Subscribe("orders", subscriber), TimeSpan.FromSeconds(10));

var order = new MessageEnvelope(Encoding.UTF8.GetBytes("""{"orderId":"42","amount":10}"""), "sample-shop");
var key = $"order-42-{DateTime.UtcNow:yyyyMMddHHmmss}";
foreach (var attempt in new[] { "first", "second" })
{
    var ack = await bus.Channels.Ask<object>(new Publish("orders", order, key), TimeSpan.FromSeconds(10));
    Console.WriteLine($"{attempt} publish with key {key}: {ack}");
}

await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10));
await Task.Delay(TimeSpan.FromMilliseconds(500)); // give a (wrong) second delivery the chance to show up
Console.WriteLine($"deliveries received: {PrintingSubscriber.Count}");
await system.Terminate();

internal sealed class PrintingSubscriber : ReceiveActor
{
    public static int Count;

    public PrintingSubscriber(TaskCompletionSource<Delivery> first)
    {
        Receive<Delivery>(delivery =>
        {
            Interlocked.Increment(ref Count);
            Console.WriteLine($"delivery #{delivery.SequenceNr} on {delivery.Channel}: {Encoding.UTF8.GetString(delivery.Envelope.Payload)}");
            first.TrySetResult(delivery);
        });
    }
}
