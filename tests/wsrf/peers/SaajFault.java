// A GT4-era Java SOAP client (Apache Axis 1.4's SAAJ, Debian libaxis-java): sends one request and prints
// what came back. With a SOAP fault behind HTTP 400 Axis sees only "(400)Bad Request"; behind 500 (WS-I
// Basic Profile R1126) it reads the fault. usage: java SaajFault URL ALPHA
import javax.xml.soap.*;
import java.net.URL;

public class SaajFault {
    public static void main(String[] args) throws Exception {
        String ns = "urn:wrapgen:heat";
        MessageFactory mf = MessageFactory.newInstance();
        SOAPMessage msg = mf.createMessage();
        msg.getMimeHeaders().addHeader("SOAPAction", "\"\"");
        SOAPBody body = msg.getSOAPBody();
        SOAPElement call = body.addChildElement("heat_step", "h", ns);
        SOAPElement u = call.addChildElement("u", "h", ns);
        u.addChildElement("dtype", "h", ns).addTextNode("float64");
        u.addChildElement("shape", "h", ns).addTextNode("3");
        u.addChildElement("shape", "h", ns).addTextNode("3");
        u.addChildElement("order", "h", ns).addTextNode("F");
        u.addChildElement("data", "h", ns).addTextNode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");  // 3x3 zeros
        call.addChildElement("alpha", "h", ns).addTextNode(args[1]);
        call.addChildElement("dt", "h", ns).addTextNode("0.1");
        call.addChildElement("dx", "h", ns).addTextNode("1.0");
        msg.saveChanges();
        SOAPConnection conn = SOAPConnectionFactory.newInstance().createConnection();
        try {
            SOAPMessage reply = conn.call(msg, new URL(args[0]));
            SOAPBody rb = reply.getSOAPBody();
            if (rb.hasFault()) {
                SOAPFault f = rb.getFault();
                System.out.println("FAULT " + f.getFaultCode() + " | " + f.getFaultString());
            } else {
                System.out.println("OK " + rb.getFirstChild().getLocalName());
            }
        } catch (SOAPException e) {
            System.out.println("ERROR " + e.getMessage());
        } finally {
            conn.close();
        }
    }
}
