using System.Net;
using System.Net.Sockets;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// A local port forwarding to a server until <see cref="StopAsync"/>: then its connections drop and new ones are
/// refused, as if the server had gone, while the shared server itself keeps serving the other specs.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private readonly Task _accepting;

    /// <summary>Forwards from <paramref name="listenPort"/> (a free one when 0; a port an earlier forwarder had may be taken again).</summary>
    public TcpForwarder(string host, int port, int listenPort = 0)
    {
        _listener = new TcpListener(IPAddress.Loopback, listenPort);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(host, port);
    }

    public int Port { get; }

    private async Task AcceptAsync(string host, int port)
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception error) when (error is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(host, port, _stop.Token);
            }
            catch (Exception error) when (error is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }
            lock (_connections)
                _connections.AddRange([client, server]);
            _ = PumpAsync(client, server);
            _ = PumpAsync(server, client);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream(), _stop.Token);
        }
        catch (Exception error) when (error is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_connections)
            _connections.ForEach(c => c.Dispose());
        await _accepting;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }
}
