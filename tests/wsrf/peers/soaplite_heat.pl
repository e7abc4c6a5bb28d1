#!/usr/bin/perl
# An independent SOAP client (Perl SOAP::Lite) driving a wrapgen WS-Resource:
# Create_heat_step -> Start -> GetResourceProperty(Status) until done -> FetchResult -> Destroy.
# Prints the result grid (F order, one value per line) so the test can check it against the local kernel.
use strict;
use warnings;
use SOAP::Lite;
use MIME::Base64;

my ($url) = @ARGV or die "usage: $0 http://host:port\n";
my $tns = 'urn:wrapgen:heat';
my $rns = "$tns:heat_step";
my $n = 5;
my @u = (0) x ($n * $n);
$u[$_ * $n] = 100 for 0 .. $n - 1;    # u(1, :) = 100, Fortran order
my $data = encode_base64(pack('d<*', @u), '');
my $shape = "<h:shape>$n</h:shape>" x 2;

sub fail { my ($what, $som) = @_; die "$what: " . $som->faultstring . "\n" if $som->fault; }

my $factory = SOAP::Lite->proxy("$url/heat")->on_action(sub { "$tns/heatPortType/$_[1]Request" });
my $som = $factory->call(
    SOAP::Data->name('h:Create_heat_step')->attr({'xmlns:h' => $tns}) =>
    SOAP::Data->type(xml => "<h:u><h:dtype>float64</h:dtype>$shape<h:order>F</h:order><h:data>$data</h:data></h:u>"
        . "<h:alpha>1.0</h:alpha><h:dt>0.1</h:dt><h:dx>1.0</h:dx><h:nsteps>12</h:nsteps>"));
fail('Create', $som);
my $address = $som->valueof('//EndpointReference/Address') or die "no Address in the EPR\n";
my $key = $som->valueof('//EndpointReference/ReferenceParameters/ResourceKey') or die "no ResourceKey\n";
print STDERR "created $address key $key\n";

my $res = SOAP::Lite->proxy($address)->on_action(sub { $_[1] });
my $hdr = sub { SOAP::Header->name('k:ResourceKey')->attr({'xmlns:k' => $tns})->value($key) };
sub call_res {
    my ($name, $ns, $prefix, $value) = @_;
    my $body = SOAP::Data->name("$prefix:$name")->attr({"xmlns:$prefix" => $ns, 'xmlns:r' => $rns});
    my @params = defined $value ? (SOAP::Data->type(xml => $value)) : ();
    my $s = $res->call($body, @params, $hdr->());
    fail($name, $s);
    return $s;
}
call_res('Start', $rns, 'r');
my $status = '';
for (1 .. 600) {
    my $s = call_res('GetResourceProperty', 'http://docs.oasis-open.org/wsrf/rp-2', 'rp', 'r:Status');
    $status = $s->valueof('//GetResourcePropertyResponse/Status');
    last if $status =~ /^(Succeeded|Failed|Cancelled)$/;
    select(undef, undef, undef, 0.05);
}
die "status $status\n" unless $status eq 'Succeeded';
my $r = call_res('FetchResult', $rns, 'r');
my $out = $r->valueof('//FetchResultResponse/u/data');
my $order = $r->valueof('//FetchResultResponse/u/order');
die "order $order\n" unless $order eq 'F';
my @grid = unpack('d<*', decode_base64($out));
call_res('Destroy', 'http://docs.oasis-open.org/wsrf/rl-2', 'rl');
my $gone = $res->call(SOAP::Data->name('r:Start')->attr({'xmlns:r' => $rns}), $hdr->());
die "resource still there after Destroy\n" unless $gone->fault && $gone->faultstring =~ /no heat_step resource/;
print "$_\n" for @grid;
